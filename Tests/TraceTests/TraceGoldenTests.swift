import Foundation
import Testing
import TestSupport
@testable import Trace

/// The format is a promise to every trace already on disk: Golden/small.vqt, written by format
/// 1.0, must read back to the same records forever, and today's writer must still produce it byte
/// for byte (docs/FORMAT.md walks through this file). Regenerate deliberately with
/// VQTRACE_UPDATE_GOLDEN=1 only when the format version changes.
@Suite("Golden trace file")
struct TraceGoldenTests {
    static let goldenPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/small.vqt").path

    static let records: [TraceRecord] = [
        TraceRecord(vq: 0, type: .write, sector: 2048, length: 4096, submitNs: 1_000, completionNs: 51_000),
        TraceRecord(vq: 0, type: .flush, sector: 0, length: 0, submitNs: 3_000, completionNs: 40_000),
        TraceRecord(vq: 1, type: .read, sector: 123_456, length: 8192, submitNs: 3_000, completionNs: 93_000),
        TraceRecord(vq: 0, type: .write, sector: 2056, length: 512, submitNs: 70_000),
        TraceRecord(vq: 1, type: TraceRequestType(rawValue: 99), sector: 0, length: 0, submitNs: 71_000, completionNs: 72_000, status: .unsupported),
    ]

    static var metadata: TraceMetadata {
        Fixtures.metadata(devices: [.init(name: "vda", capacitySectors: 2_097_152, logicalBlockSize: 512, numQueues: 2, queueSize: 256)])
    }

    @Test("Golden/small.vqt reads back to its records and metadata")
    func reads() throws {
        let reader = try TraceReader(path: Self.goldenPath)
        #expect(reader.majorVersion == 1 && reader.minorVersion == 0)
        #expect(reader.metadata == Self.metadata)
        #expect(reader.chunks.map(\.recordCount) == [3, 2])
        #expect(try Fixtures.readAll(reader) == Self.records)
        #expect(reader.verify().isClean)
    }

    @Test("today's writer produces Golden/small.vqt byte for byte")
    func writes() throws {
        let dir = ScratchDirectory()
        try Fixtures.write(Self.records, to: dir.file("small.vqt"), metadata: Self.metadata, recordsPerChunk: 3)
        let written = Fixtures.bytes(of: dir.file("small.vqt"))
        if ProcessInfo.processInfo.environment["VQTRACE_UPDATE_GOLDEN"] == "1" {
            Fixtures.writeBytes(written, to: Self.goldenPath)
        }
        let golden = Fixtures.bytes(of: Self.goldenPath)
        #expect(written.count == golden.count)
        let firstDifference = zip(written, golden).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "first differing byte: \(firstDifference ?? -1)")
    }
}
