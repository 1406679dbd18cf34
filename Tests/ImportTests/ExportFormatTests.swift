import Foundation
import Testing
import TestSupport
@testable import Import
@testable import Trace

@Suite("export to blkparse text and CSV")
struct ExportFormatTests {
    /// A trace with two devices, several vqs, completions (some missing), an error and a WRITE_ZEROES.
    func sampleTrace(_ dir: ScratchDirectory, seed: UInt64 = 1, count: Int = 400) throws -> (String, [TraceRecord]) {
        var rng = SplitMix64(state: seed)
        let metadata = TraceMetadata(devices: [.init(name: "vda", capacitySectors: 1 << 30, numQueues: 4), .init(name: "vdb", capacitySectors: 1 << 30, numQueues: 4)],
                                     source: .init(kind: "test", name: "export"))
        let path = dir.file("s\(seed).vqt")
        let writer = try TraceWriter(path: path, metadata: metadata)
        var records: [TraceRecord] = []
        var t: UInt64 = 5_000
        // FLUSHes carry no sector in blktrace, so their completions can only pair in order: keep
        // each device's FLUSH completions in submit order, as a device's flush queue does.
        var lastFlushCompletion: [UInt64] = [0, 0]
        for _ in 0..<count {
            t += rng.next() % 20_000
            let types: [TraceRequestType] = [.read, .read, .write, .write, .flush, .discard]
            let type = types[Int(rng.next() % UInt64(types.count))]
            let flush = type == .flush
            let device = Int(rng.next() % 2)
            var completion: UInt64? = rng.next() % 5 == 0 ? nil : t + rng.next() % 2_000_000
            if flush {  // (and every one completes: a missing one would shift the pairing)
                completion = max(t + rng.next() % 2_000_000, lastFlushCompletion[device] + 1)
                lastFlushCompletion[device] = completion!
            }
            let r = TraceRecord(device: UInt16(device), vq: UInt16(rng.next() % 4), type: type,
                                sector: flush ? 0 : rng.next() % (1 << 28), length: flush ? 0 : UInt32(rng.next() % 64 + 1) * 512,
                                submitNs: t, completionNs: completion, status: rng.next() % 17 == 0 ? .ioError : .ok)
            try writer.append(r)
            records.append(r)
        }
        _ = try writer.finish()
        return (path, records)
    }

    @Test("blkparse export imports back to the same requests: devices, vqs (the CPU column), times, completions, errors")
    func blkparseRoundTrip() throws {
        let dir = ScratchDirectory()
        for seed in UInt64(1)...3 {
            let (trace, records) = try sampleTrace(dir, seed: seed)
            let out = dir.file("s\(seed).blk")
            #expect(try BlkparseExporter.export(tracePath: trace, out: out) == { var r = ExportResult(); r.written = records.count; return r }())
            var importer = TraceImporter(format: .blkparse)
            importer.queues = 4
            importer.capacityBytes = 1 << 39
            let result = try importer.run(paths: [out], out: dir.file("back\(seed).vqt"))
            #expect(result.deviceKeys == ["252,0", "252,16"] || result.deviceKeys == ["252,16", "252,0"])
            #expect(result.unmatchedCompletions == 0)
            let back = try readAll(dir.file("back\(seed).vqt"))
            let origin = records[0].submitNs
            let deviceOf = result.deviceKeys.map { $0 == "252,0" ? UInt16(0) : 1 }
            let expected = records.map { r in
                TraceRecord(device: r.device, vq: r.vq, type: r.type, sector: r.sector, length: r.length, submitNs: r.submitNs - origin,
                            completionNs: r.completionNs.map { $0 - origin }, status: r.completionNs == nil ? .ok : r.status)
            }
            let mapped = back.map { var r = $0; r.device = deviceOf[Int(r.device)]; return r }
            #expect(mapped.count == expected.count)
            let firstDifference = zip(mapped, expected).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(firstDifference == nil, "seed \(seed), record \(firstDifference?.offset ?? -1): \(String(describing: firstDifference?.element))")
        }
    }

    @Test("blkparse text is in time order with Q and C lines as blkparse prints them (golden)")
    func blkparseGolden() throws {
        let dir = ScratchDirectory()
        let metadata = TraceMetadata(devices: [.init(name: "vda", capacitySectors: 1 << 20, numQueues: 2)], source: .init(kind: "test", name: "golden"))
        let writer = try TraceWriter(path: dir.file("g.vqt"), metadata: metadata)
        try writer.append(TraceRecord(vq: 0, type: .read, sector: 2048, length: 4096, submitNs: 1_000, completionNs: 90_000))
        try writer.append(TraceRecord(vq: 1, type: .write, sector: 8, length: 8192, submitNs: 2_000, completionNs: 40_000, status: .ioError))
        try writer.append(TraceRecord(vq: 1, type: .flush, sector: 0, length: 0, submitNs: 50_000, completionNs: 60_000))
        try writer.append(TraceRecord(vq: 0, type: .writeZeroes, sector: 0, length: 4096, submitNs: 70_000))
        _ = try writer.finish()
        let result = try BlkparseExporter.export(tracePath: dir.file("g.vqt"), out: dir.file("g.txt"))
        #expect(result.written == 3 && result.leftOut == 1)
        #expect(try String(contentsOfFile: dir.file("g.txt"), encoding: .utf8) == """
            252,0   0        1     0.000000000     0  Q R 2048 + 8 [vqtrace]
            252,0   1        1     0.000001000     0  Q W 8 + 16 [vqtrace]
            252,0   1        2     0.000039000     0  C W 8 + 16 [-5]
            252,0   1        3     0.000049000     0  Q FN [vqtrace]
            252,0   1        4     0.000059000     0  C FN 0 [0]
            252,0   0        2     0.000089000     0  C R 2048 + 8 [0]

            """)
    }

    @Test("CSV has a header and one row per request (golden)")
    func csvGolden() throws {
        let dir = ScratchDirectory()
        let metadata = TraceMetadata(devices: [.init(name: "vda", capacitySectors: 1 << 20, numQueues: 2), .init(name: "vdb", capacitySectors: 1 << 20, numQueues: 1)],
                                     source: .init(kind: "test", name: "golden"))
        let writer = try TraceWriter(path: dir.file("c.vqt"), metadata: metadata)
        try writer.append(TraceRecord(device: 0, vq: 1, type: .read, sector: 2048, length: 4096, submitNs: 500, completionNs: 9_500))
        try writer.append(TraceRecord(device: 1, vq: 0, type: .writeZeroes, sector: 0, length: 1 << 20, submitNs: 700))
        try writer.append(TraceRecord(device: 0, vq: 0, type: .flush, sector: 0, length: 0, submitNs: 800, completionNs: 900, status: .unsupported))
        _ = try writer.finish()
        #expect(try CSVExporter.export(tracePath: dir.file("c.vqt"), out: dir.file("c.csv")).written == 3)
        #expect(try String(contentsOfFile: dir.file("c.csv"), encoding: .utf8) == """
            device,vq,type,sector,length,submit_ns,completion_ns,status
            vda,1,read,2048,4096,0,9000,ok
            vdb,0,write-zeroes,0,1048576,200,,ok
            vda,0,flush,0,0,300,400,unsupp

            """)
    }

    @Test("a failed export leaves nothing behind")
    func failedExport() throws {
        let dir = ScratchDirectory()
        let bogus = dir.write("bogus.vqt", "not a trace")
        #expect(throws: (any Error).self) { try CSVExporter.export(tracePath: bogus, out: dir.file("x.csv")) }
        #expect(throws: (any Error).self) { try BlkparseExporter.export(tracePath: bogus, out: dir.file("x.blk")) }
        #expect(throws: ImportError.self) { try CSVExporter.export(tracePath: try sampleTrace(dir).0, out: dir.file("no/such/dir.csv")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["bogus.vqt", "s1.vqt"])
    }
}
