import Catalog
import Foundation
import Testing
import TestSupport
@testable import Trace

@Suite("Trace catalog")
struct CatalogTests {
    @Test("registering a trace stores its totals, devices and one row per chunk with the queue set", arguments: CatalogKind.available)
    func register(kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        let records = Fixtures.randomRecords(count: 2000, devices: Fixtures.metadata().devices, seed: 4)
        try Fixtures.write(records, to: dir.file("oltp.vqt"), recordsPerChunk: 300)
        let catalog = try kind.fresh(dir)
        #expect(try catalog.appliedMigrations() == ["v1 traces and chunks", "v1 runs and results", "v2 trace fingerprints", "v3 hosts", "v4 trace bytes", "v5 trace damage"])
        let trace = try catalog.register(tracePath: dir.file("oltp.vqt"))
        #expect(trace.name == "oltp" && trace.records == 2000 && trace.complete && trace.chunkCount == 7)
        #expect(trace.mix.reduce(0, +) == 2000)
        let reader = try TraceReader(path: dir.file("oltp.vqt"))
        let chunks = try catalog.chunks(ofTrace: trace.id)
        #expect(chunks.map { UInt64($0.offset) } == reader.chunks.map(\.offset))
        #expect(chunks.map { UInt32($0.records) } == reader.chunks.map(\.recordCount))
        for (i, chunk) in chunks.enumerated() {
            let expected = QueueSetText.format(records[(i * 300)..<min(2000, (i + 1) * 300)].map(\.queueKey))
            #expect(chunk.queueSet == expected)
        }
        let devices = try catalog.rows("SELECT numQueues, capacitySectors FROM traceDevice WHERE traceId = ?", [trace.id])
        #expect(devices == [["numQueues": "8", "capacitySectors": "\(1 << 30)"]])

        // Found by id, name and path; registering again keeps the id.
        #expect(try catalog.find("\(trace.id)") == trace)
        #expect(trace.host == CatalogHost.current().name && trace.hostCPUs == CatalogHost.current().cpus && !trace.isPushed)
        #expect(try catalog.find("oltp").id == trace.id)
        #expect(try catalog.find(dir.file("oltp.vqt")).id == trace.id)
        #expect(try catalog.register(tracePath: dir.file("oltp.vqt")).id == trace.id)
        #expect(try catalog.traces().count == 1)
        #expect(throws: CatalogError.self) { try catalog.find("nope") }
    }

    @Test("reindex rebuilds the same rows from the files alone, and drops rows of files that are gone", arguments: CatalogKind.available)
    func reindex(kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        for (i, name) in ["a", "b", "c"].enumerated() {
            try Fixtures.write(Fixtures.randomRecords(count: 500 * (i + 1), devices: Fixtures.metadata().devices, seed: UInt64(i)),
                               to: dir.file("\(name).vqt"), recordsPerChunk: 200)
        }
        let first = try kind.fresh(dir)
        for name in ["a", "b", "c"] { try first.register(tracePath: dir.file("\(name).vqt")) }
        let before = try first.rows("SELECT t.name, c.chunkIndex, c.offset, c.length, c.records, c.queueSet FROM traceChunk c JOIN trace t ON t.id = c.traceId ORDER BY t.name, c.chunkIndex")

        // Lose the catalog entirely; rebuild it from the folder.
        let rebuilt = try kind.fresh(dir, name: "rebuilt")
        let report = try rebuilt.reindex(directories: [dir.path])
        #expect(report.indexed.count == 3 && report.failed.isEmpty)
        let after = try rebuilt.rows("SELECT t.name, c.chunkIndex, c.offset, c.length, c.records, c.queueSet FROM traceChunk c JOIN trace t ON t.id = c.traceId ORDER BY t.name, c.chunkIndex")
        #expect(after == before)
        #expect(after.count == 3 + 5 + 8)

        try FileManager.default.removeItem(atPath: dir.file("b.vqt"))
        let second = try rebuilt.reindex(directories: [dir.path])
        #expect(second.dropped == [URL(fileURLWithPath: dir.file("b.vqt")).standardizedFileURL.path])
        #expect(try rebuilt.traces().map(\.name) == ["a", "c"])
    }

    @Test("a damaged file is refused with its location, and the catalog is left as it was", arguments: CatalogKind.available)
    func refusesDamagedFile(kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        try Fixtures.write(Fixtures.randomRecords(count: 100, devices: Fixtures.metadata().devices, seed: 1), to: dir.file("good.vqt"))
        Fixtures.writeBytes(Array("not a trace".utf8), to: dir.file("bad.vqt"))
        let catalog = try kind.fresh(dir)
        try catalog.register(tracePath: dir.file("good.vqt"))
        let error = #expect(throws: CatalogError.self) { try catalog.register(tracePath: dir.file("bad.vqt")) }
        #expect(error?.description.contains("bad.vqt: header at byte 0") == true)
        #expect(try catalog.traces().map(\.name) == ["good"])
        let report = try catalog.reindex(directories: [dir.path])
        #expect(report.failed.count == 1 && report.indexed.count == 1)
    }

    @Test("an unfinished trace is refused, its repair is catalogued, and removing a trace keeps replay runs", arguments: CatalogKind.available)
    func recoveredAndRuns(kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        try Fixtures.write(Fixtures.randomRecords(count: 1000, devices: Fixtures.metadata().devices, seed: 8), to: dir.file("t.vqt"), recordsPerChunk: 100)
        let bytes = Fixtures.bytes(of: dir.file("t.vqt"))
        Fixtures.writeBytes(Array(bytes[0..<(bytes.count - 500)]), to: dir.file("t.vqt"))
        let catalog = try kind.fresh(dir)
        #expect {
            try catalog.register(tracePath: dir.file("t.vqt"))
        } throws: { error in
            "\(error)".contains("is not a finished trace") && "\(error)".contains("vqtrace traces repair")
        }
        #expect(try catalog.traces().isEmpty)
        let repair = try TraceRepair.repair(from: dir.file("t.vqt"), to: dir.file("repaired.vqt"))
        #expect(repair.recovery != nil && repair.damaged.isEmpty && repair.recordsKept == 900 && repair.chunksKept == 9)
        let trace = try catalog.register(tracePath: dir.file("repaired.vqt"))
        #expect(trace.complete && trace.recovery == nil && trace.records == 900)
        let run = try catalog.insertRun(NewRun(traceId: trace.id, tracePath: trace.path, layoutSpec: "single", layoutJSON: "{}",
                                               backend: "null", timing: "afap", target: "/dev/null", hostJSON: "{}"))
        #expect(run > 0)
        try catalog.remove(traceId: trace.id)
        #expect(try catalog.rows("SELECT traceId, tracePath FROM run") == [["traceId": "NULL", "tracePath": trace.path]])
    }
}
