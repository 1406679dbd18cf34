import Foundation
import Testing
import TestSupport
@testable import Trace

@Suite("Trace footprint")
struct TraceFootprintTests {
    static let mib: UInt64 = 1 << 20

    /// Two devices of 64 MiB and 16 MiB, two vqs each.
    static func trace(_ path: String, _ records: [TraceRecord]) throws -> TraceReader {
        let metadata = TraceMetadata(devices: [.init(name: "vda", capacitySectors: 64 * mib / 512, numQueues: 2),
                                               .init(name: "vdb", capacitySectors: 16 * mib / 512, numQueues: 2)],
                                     source: .init(kind: "synthetic", name: "footprint"))
        let writer = try TraceWriter(path: path, metadata: metadata, options: .init(recordsPerChunk: 4, fsync: .none))
        for r in records { try writer.append(r) }
        try writer.finish()
        return try TraceReader(path: path)
    }

    static func read(_ device: UInt16 = 0, vq: UInt16 = 0, at offset: UInt64, _ length: UInt32, t: UInt64, type: TraceRequestType = .read) -> TraceRecord {
        TraceRecord(device: device, vq: vq, type: type, sector: offset / 512, length: length, submitNs: t)
    }

    @Test("reads become whole granules per device, adjacent ones merge; writes and flushes count for nothing")
    func coalesced() throws {
        let dir = ScratchDirectory()
        let mib = Self.mib
        let reader = try Self.trace(dir.file("t.vqt"), [
            Self.read(at: 0, 4096, t: 1),
            Self.read(at: mib - 512, 1024, t: 2),                 // straddles granules 0 and 1
            Self.read(at: 5 * mib + 4096, 8192, t: 3),
            Self.read(at: 9 * mib, 4096, t: 4, type: .write),
            TraceRecord(vq: 1, type: .flush, sector: 0, length: 0, submitNs: 5),
            Self.read(at: 63 * mib + 4096, (1 << 20) - 4096, t: 6),  // up to the last byte
            Self.read(1, vq: 1, at: 3 * mib, 4096, t: 8),
        ])
        let footprint = TraceFootprint(reader: reader)
        #expect(footprint.devices[0] == [0..<(2 * mib), (5 * mib)..<(6 * mib), (63 * mib)..<(64 * mib)])
        #expect(footprint.devices[1] == [(3 * mib)..<(4 * mib)])
        #expect(footprint.union == [0..<(2 * mib), (3 * mib)..<(4 * mib), (5 * mib)..<(6 * mib), (63 * mib)..<(64 * mib)])
        #expect(footprint.bytes == 5 * mib && footprint.reads == 5 && footprint.error == nil)

        // Finer granules, writes counted as reads (a replay with --writes as-reads).
        let fine = TraceFootprint(reader: reader, writesAsReads: true, granularity: 4096)
        #expect(fine.devices[0] == [0..<4096, (mib - 4096)..<(mib + 4096), (5 * mib + 4096)..<(5 * mib + 12288), (9 * mib)..<(9 * mib + 4096),
                                    (63 * mib + 4096)..<(64 * mib)])
    }

    @Test("only the window's reads on the chosen queues count")
    func windowAndQueues() throws {
        let dir = ScratchDirectory()
        let mib = Self.mib
        let reader = try Self.trace(dir.file("t.vqt"), (0..<40).map { i in
            Self.read(vq: UInt16(i % 2), at: UInt64(i) * mib, 4096, t: UInt64(i) * 1000)
        })
        let window = TraceFootprint(reader: reader, from: 10_000, to: 20_000, queues: [QueueKey(device: 0, vq: 1)])
        #expect(window.devices[0] == [11, 13, 15, 17, 19].map { ($0 * mib)..<(($0 + 1) * mib) })
        #expect(window.devices[1].isEmpty)
        #expect(window.reads == 5)
    }
}
