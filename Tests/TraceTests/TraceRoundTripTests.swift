import Foundation
import Testing
import TestSupport
@testable import Trace

@Suite("Trace round trips")
struct TraceRoundTripTests {
    static let devices: [TraceMetadata.Device] = [
        .init(name: "vda", capacitySectors: 1 << 30, numQueues: 8),
        .init(name: "vdb", capacitySectors: UInt64.max / 2, logicalBlockSize: 4096, numQueues: 300, queueSize: 1024),
    ]

    @Test("random records survive write and read, whatever the chunk size", arguments: 1...24)
    func randomRoundTrip(seed: UInt64) throws {
        let dir = ScratchDirectory()
        var rng = SplitMix64(state: seed &* 7919)
        let count = Int.random(in: 1...4000, using: &rng)
        let perChunk = [1, 2, 3, 17, 256, 1000, 65536].randomElement(using: &rng)!
        let records = Fixtures.randomRecords(count: count, devices: Self.devices, seed: seed)
        let metadata = Fixtures.metadata(devices: Self.devices)
        let totals = try Fixtures.write(records, to: dir.file("t.vqt"), metadata: metadata, recordsPerChunk: perChunk)
        #expect(totals.records == UInt64(count))

        let reader = try TraceReader(path: dir.file("t.vqt"))
        #expect(reader.isComplete)
        #expect(reader.metadata == metadata)
        #expect(reader.chunks.count == (count + perChunk - 1) / perChunk)
        #expect(reader.totals == totals)
        #expect(reader.totals.mix == TraceRequestType.MixClass.allCases.map { c in UInt64(records.filter { $0.type.mixClass == c }.count) })
        let back = try Fixtures.readAll(reader)
        #expect(back.count == records.count)
        #expect(back == records)
        #expect(reader.verify().isClean)
    }

    @Test("a per-queue cursor gives that queue's records in their order")
    func perQueueOrder() throws {
        let dir = ScratchDirectory()
        let records = Fixtures.randomRecords(count: 5000, devices: Self.devices, seed: 99)
        try Fixtures.write(records, to: dir.file("t.vqt"), metadata: Fixtures.metadata(devices: Self.devices), recordsPerChunk: 333)
        let reader = try TraceReader(path: dir.file("t.vqt"))
        let keys = Set(records.map(\.queueKey))
        #expect(keys.count > 20)
        for key in keys.sorted().prefix(12) {
            #expect(try Fixtures.readAll(reader, queues: [key]) == records.filter { $0.queueKey == key })
        }
        let two: Set<QueueKey> = [QueueKey(device: 0, vq: 3), QueueKey(device: 1, vq: 299)]
        #expect(try Fixtures.readAll(reader, queues: two) == records.filter { two.contains($0.queueKey) })
    }

    @Test("a time window gives exactly the records submitted in [from, to) and reads only overlapping chunks")
    func windows() throws {
        let dir = ScratchDirectory()
        // Evenly spaced records, so windows land inside, across and outside chunks.
        let records: [TraceRecord] = (0..<10_000).map { (i: Int) -> TraceRecord in
            let type: TraceRequestType = i % 3 == 0 ? .write : .read
            return TraceRecord(vq: UInt16(i % 8), type: type, sector: UInt64(i) * 16, length: 8192, submitNs: UInt64(i / 2) * 1000)
        }
        try Fixtures.write(records, to: dir.file("t.vqt"), recordsPerChunk: 512)
        let reader = try TraceReader(path: dir.file("t.vqt"))
        var rng = SplitMix64(state: 5)
        for _ in 0..<200 {
            let from = UInt64.random(in: 0...5_100_000, using: &rng)
            let to = from + UInt64.random(in: 0...400_000, using: &rng)
            #expect(try Fixtures.readAll(reader, from: from, to: to) == records.filter { $0.submitNs >= from && $0.submitNs < to })
            let range = reader.chunkRange(from: from, to: to)
            for (i, chunk) in reader.chunks.enumerated() {
                let overlaps = chunk.lastSubmitNs >= from && chunk.firstSubmitNs < to
                #expect(range.contains(i) == overlaps, "chunk \(i) [\(chunk.firstSubmitNs), \(chunk.lastSubmitNs)] window [\(from), \(to))")
            }
        }
        #expect(reader.chunkRange(from: 10, to: 10).isEmpty)
    }

    @Test("extreme values: the last sector of a huge device, 64-bit times, zero latency, 32-bit lengths")
    func extremes() throws {
        let dir = ScratchDirectory()
        let big = TraceMetadata.Device(capacitySectors: UInt64.max - 1, numQueues: UInt16.max)
        let records = [
            TraceRecord(vq: 0, type: .read, sector: 0, length: 0, submitNs: 0, completionNs: 0),
            TraceRecord(vq: UInt16.max - 1, type: .write, sector: UInt64.max - 2 - UInt64(UInt32.max / 512 + 1), length: UInt32.max,
                        submitNs: 1, completionNs: UInt64.max - 1, status: TraceStatus(rawValue: 255)),
            TraceRecord(vq: 7, type: TraceRequestType(rawValue: UInt32.max), sector: UInt64.max - 1, length: 3, submitNs: UInt64.max - 5),
            TraceRecord(vq: 7, type: .flush, sector: 0, length: 0, submitNs: UInt64.max - 1, completionNs: UInt64.max - 1),
        ]
        try Fixtures.write(records, to: dir.file("t.vqt"), metadata: Fixtures.metadata(devices: [big]))
        #expect(try Fixtures.readAll(TraceReader(path: dir.file("t.vqt"))) == records)
    }

    @Test("an empty trace is complete and has no chunks")
    func emptyTrace() throws {
        let dir = ScratchDirectory()
        try Fixtures.write([], to: dir.file("t.vqt"))
        let reader = try TraceReader(path: dir.file("t.vqt"))
        #expect(reader.isComplete && reader.chunks.isEmpty && reader.totals.records == 0)
        #expect(try Fixtures.readAll(reader).isEmpty)
        #expect(reader.verify().isClean)
    }

    @Test("the writer refuses bad records by number and field, and keeps everything before them")
    func writerRejections() throws {
        let dir = ScratchDirectory()
        let writer = try TraceWriter(path: dir.file("t.vqt"), metadata: Fixtures.metadata(), options: .init(recordsPerChunk: 2))
        let good = (0..<3).map { TraceRecord(vq: 1, type: .read, sector: UInt64($0) * 8, length: 4096, submitNs: 1000 * UInt64($0 + 1)) }
        for r in good { try writer.append(r) }
        let cases: [(TraceRecord, TraceWriteError)] = [
            (TraceRecord(vq: 1, type: .read, sector: 0, length: 512, submitNs: 10), .timeWentBackwards(record: 3, previousNs: 3000, submitNs: 10)),
            (TraceRecord(vq: 1, type: .read, sector: 0, length: 512, submitNs: 5000, completionNs: 4000), .completionBeforeSubmit(record: 3, submitNs: 5000, completionNs: 4000)),
            (TraceRecord(device: 2, vq: 1, type: .read, sector: 0, length: 512, submitNs: 5000), .unknownDevice(record: 3, device: 2, deviceCount: 1)),
            (TraceRecord(vq: 8, type: .read, sector: 0, length: 512, submitNs: 5000), .queueOutOfRange(record: 3, device: 0, vq: 8, numQueues: 8)),
            (TraceRecord(vq: 0, type: .write, sector: (1 << 30) - 1, length: 1024, submitNs: 5000), .beyondCapacity(record: 3, sector: (1 << 30) - 1, length: 1024, capacitySectors: 1 << 30)),
        ]
        for (record, expected) in cases {
            #expect(throws: expected) { try writer.append(record) }
        }
        #expect(cases[0].1.description.contains("record 3: submit time 10 ns is before"))
        try writer.finish()
        #expect(throws: TraceWriteError.finished) { try writer.append(good[0]) }
        #expect(try Fixtures.readAll(TraceReader(path: dir.file("t.vqt"))) == good)
    }

    @Test("metadata without devices, and impossible options, are refused")
    func writerOptions() {
        let dir = ScratchDirectory()
        var noDevices = Fixtures.metadata()
        noDevices.devices = []
        #expect(throws: TraceWriteError.noDevices) { try TraceWriter(path: dir.file("a.vqt"), metadata: noDevices) }
        #expect(throws: TraceWriteError.self) { try TraceWriter(path: dir.file("b.vqt"), metadata: Fixtures.metadata(), options: .init(recordsPerChunk: 0)) }
        #expect(throws: TraceWriteError.self) { try TraceWriter(path: dir.file("c.vqt"), metadata: Fixtures.metadata(), options: .init(compressionLevel: 40)) }
        #expect(throws: TraceWriteError.self) { try TraceWriter(path: dir.path + "/missing/d.vqt", metadata: Fixtures.metadata()) }
    }

    @Test("a newer major version is refused with a message that says so; a newer minor version is read")
    func versions() throws {
        let dir = ScratchDirectory()
        let records = Fixtures.randomRecords(count: 100, devices: [Fixtures.metadata().devices[0]], seed: 3)
        try Fixtures.write(records, to: dir.file("t.vqt"))
        var bytes = Fixtures.bytes(of: dir.file("t.vqt"))
        let headerLength = Int(bytes[12]) | Int(bytes[13]) << 8
        func rechecksum(_ b: inout [UInt8]) {
            let crc = CRC32C.checksum(Array(b[0..<headerLength - 4]))
            for i in 0..<4 { b[headerLength - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        }
        var newerMinor = bytes
        newerMinor[10] = 7
        rechecksum(&newerMinor)
        Fixtures.writeBytes(newerMinor, to: dir.file("minor.vqt"))
        let reader = try TraceReader(path: dir.file("minor.vqt"))
        #expect(reader.minorVersion == 7)
        #expect(try Fixtures.readAll(reader) == records)

        bytes[8] = 2
        rechecksum(&bytes)
        Fixtures.writeBytes(bytes, to: dir.file("major.vqt"))
        let error = #expect(throws: TraceFileError.self) { try TraceReader(path: dir.file("major.vqt")) }
        #expect(error?.description.contains("format version 2.0 is not readable") == true)
        #expect(error?.part == .header)
    }

    @Test("a file that is not a trace is named as such")
    func notATrace() {
        let dir = ScratchDirectory()
        Fixtures.writeBytes(Array("fio version 3 iolog\n0 /dev/vda open\n".utf8), to: dir.file("x.log"))
        let error = #expect(throws: TraceFileError.self) { try TraceReader(path: dir.file("x.log")) }
        #expect(error?.description == "\(dir.file("x.log")): header at byte 0: not a vqtrace file (no \"VQTRACE\" magic)")
    }

    @Test("the summary counts what the records hold")
    func summary() throws {
        let dir = ScratchDirectory()
        let records = Fixtures.randomRecords(count: 3000, devices: Self.devices, seed: 11)
        try Fixtures.write(records, to: dir.file("t.vqt"), metadata: Fixtures.metadata(devices: Self.devices), recordsPerChunk: 700)
        let summary = try TraceSummary(reader: TraceReader(path: dir.file("t.vqt")), timelineBuckets: 10)
        #expect(summary.records == 3000)
        #expect(summary.timeline.reduce(0, +) == 3000)
        #expect(summary.bytesRead == records.filter { $0.type == .read }.reduce(0) { $0 + UInt64($1.length) })
        // Every vq of every device is listed, the unused ones with 0.
        #expect(summary.perQueue.count == Self.devices.reduce(0) { $0 + Int($1.numQueues) })
        #expect(Set(summary.perQueue.filter { $0.requests > 0 }.map(\.queue)) == Set(records.map(\.queueKey)))
        #expect(summary.perQueue.reduce(0) { $0 + $1.requests } == 3000)
        #expect(summary.sizeHistogram[13] == UInt64(records.filter { $0.length == 8192 }.count))
        let latencies = records.compactMap(\.latencyNs).sorted()
        let p50 = latencies[Int((Double(latencies.count) * 0.5).rounded(.up)) - 1]
        let reported = summary.latencyPercentilesNs![0]
        // The log-linear histogram rounds up to its bucket's top: within 1/16 above the exact value.
        #expect(reported >= p50 && Double(reported) <= Double(p50) * (1 + 1.0 / 16) + 1)
        #expect(summary.sparkline.count == 10)
    }

    @Test("queue sets print as ranges")
    func queueSetText() {
        let keys = [0, 1, 2, 3, 5, 7, 8].map { QueueKey(device: 0, vq: $0) } + [QueueKey(device: 1, vq: 4)]
        #expect(QueueSetText.format(keys) == "vq0-3,5,7-8 dev1.vq4")
    }
}
