import Catalog
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Trace

/// What every command relies on, on each store: runs stored whole and read back the same, ids
/// that never collide when threads write at once, traces pushed and read back from the catalog.
@Suite("Catalog stores (SQLite and PostgreSQL)")
struct CatalogStoreTests {
    static func results(queues: Int, buckets: Int, seed: Int = 1) -> RunResults {
        RunResults(warning: seed.isMultiple(of: 2) ? "schedule missed" : nil, summaryJSON: "{\"iops\":\(1000 * seed)}",
                   iothreads: [RunIOThreadRow(name: "iothread0", requests: 10, passes: 2, kicks: 3, notifications: 4, cpuPercent: 12.5)],
                   queues: (0..<queues).map { RunQueueRow(device: 0, vq: $0, requests: Int64($0 + 1), bytes: 4096, latencyHistogram: Data(repeating: UInt8($0), count: 300)) },
                   timeline: (0..<buckets).map { UInt64($0 * seed) }, windowFromNs: nil, windowToNs: 5_000_000_000, vms: 1)
    }

    static func newRun(sweepId: Int64? = nil) -> NewRun {
        NewRun(traceId: nil, tracePath: "/t.vqt", layoutSpec: "rr:2", layoutJSON: "{}", backend: "null", timing: "afap", target: "null",
               hostJSON: "{}", sweepId: sweepId, traceFingerprint: "f", targetModel: "Test Disk")
    }

    @Test("a finished run is stored whole in one call and reads back the same, with its host", arguments: CatalogKind.available)
    func runRoundTrip(kind: CatalogKind) throws {
        let host = CatalogHost(name: "rack1-a", hostname: "a", cpuModel: "Test CPU", cpus: 64, kernel: "6.1.0")
        let dir = ScratchDirectory()
        let catalog = try kind.fresh(dir, host: host)
        let sweep = try catalog.createSweep(traceId: nil, parametersJSON: "{}", traceFingerprint: "f")
        let stored = Self.results(queues: 8, buckets: 600, seed: 3)
        let id = try catalog.storeRun(Self.newRun(sweepId: sweep), stored)
        let run = try #require(try catalog.run(id: id))
        #expect(run.host == "rack1-a" && run.targetModel == "Test Disk" && run.isFinished && run.sweepId == sweep && run.windowToNs == 5_000_000_000)
        #expect(try catalog.queues(ofRun: id) == stored.queues)
        #expect(try catalog.iothreads(ofRun: id) == stored.iothreads)
        #expect(try catalog.timeline(ofRun: id) == stored.timeline)
        #expect(try catalog.sweep(id: sweep)?.host == "rack1-a")
        #expect(try catalog.sweeps(host: "rack1-a").map(\.id) == [sweep])
        #expect(try catalog.rows("SELECT hostCPUs, hostCPUModel FROM run WHERE id = ?", [id]) == [["hostCPUs": "64", "hostCPUModel": "Test CPU"]])
    }

    @Test("a run whose results cannot be stored leaves no row at all", arguments: CatalogKind.available)
    func noTornRun(kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        let catalog = try kind.fresh(dir)
        var bad = Self.results(queues: 2, buckets: 10)
        bad.iothreads += bad.iothreads  // the same IOThread twice: the primary key refuses the second
        #expect(throws: (any Error).self) { try catalog.storeRun(Self.newRun(), bad) }
        #expect(try catalog.rows("SELECT id FROM run").isEmpty)
        #expect(try catalog.rows("SELECT runId FROM runQueue").isEmpty)
        #expect(try catalog.rows("SELECT runId FROM runTimeline").isEmpty)
    }

    @Test("threads of four stores storing runs at once get distinct ids and every run whole", arguments: CatalogKind.available)
    func concurrentWriters(kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        let location = try kind.freshLocation(dir)
        let stores = try (0..<4).map { i in try CatalogLocation(parsing: location).open(host: CatalogHost.current(label: "host\(i)")) }
        let ids = Mutex<[Int64]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            for n in 0..<10 {
                do {
                    let id = try stores[i].storeRun(Self.newRun(), Self.results(queues: 4, buckets: 50, seed: n))
                    ids.withLock { $0.append(id) }
                } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let all = ids.withLock { $0 }
        #expect(all.count == 40 && Set(all).count == 40)
        #expect(try stores[0].rows("SELECT COUNT(*) AS n FROM runQueue") == [["n": "160"]])
        #expect(try stores[0].rows("SELECT host, COUNT(*) AS n FROM run GROUP BY host ORDER BY host").map { $0["n"] } == ["10", "10", "10", "10"])
    }

    @Test("a pushed trace is read from the catalog alone, a window fetches only its chunks, and a pull is byte-identical", arguments: CatalogKind.available)
    func pushReadPull(kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        // 40 chunks of 100 records, one record per ms: chunk i covers [100 i, 100 i + 99] ms.
        let records: [TraceRecord] = (0..<4000).map { (i: Int) -> TraceRecord in
            let type: TraceRequestType = i % 5 == 0 ? .write : .read
            return TraceRecord(vq: UInt16(i % 4), type: type, sector: UInt64(i) * 8, length: 4096, submitNs: UInt64(i) * 1_000_000)
        }
        try Fixtures.write(records, to: dir.file("w.vqt"), recordsPerChunk: 100)
        let original = Fixtures.bytes(of: dir.file("w.vqt"))
        let pusher = try kind.fresh(dir, host: CatalogHost.current(label: "recorder"))
        let push = try pusher.push(tracePath: dir.file("w.vqt"))
        #expect(push.chunks == 40 && push.bytes == Int64(original.count) && push.trace.isPushed)
        try FileManager.default.removeItem(atPath: dir.file("w.vqt"))

        // Another host: the file is not there; the catalog's copy is read.
        let replayer = try CatalogLocation(parsing: kind == .sqlite ? dir.file("catalog.sqlite") : (pusher.location)).open(host: .current(label: "replayer"))
        let resolved = try replayer.resolve(try replayer.find("w"))
        let source = try #require(resolved.catalogSource)
        let reader = try resolved.location.open()
        #expect(reader.isComplete && reader.totals.records == 4000 && source.chunksFetched == 0)
        var cursor = reader.cursor(from: 1_000_000_000, to: 2_000_000_000)
        var n = 0
        while try cursor.next() != nil { n += 1 }
        #expect(n == 1000)
        #expect(source.chunksFetched == 10)  // chunks 10-19 and nothing else
        // Read again through another reader of the same location: from the cache.
        var again = try resolved.location.open().cursor(from: 1_000_000_000, to: 2_000_000_000)
        while try again.next() != nil {}
        #expect(source.chunksFetched == 10)

        try replayer.pull(traceId: push.trace.id, to: dir.file("pulled.vqt"))
        #expect(Fixtures.bytes(of: dir.file("pulled.vqt")) == original)
        #expect(throws: CatalogError.self) { try replayer.pull(traceId: push.trace.id, to: dir.file("pulled.vqt")) }
    }

    @Test("a trace catalogued on another host and never pushed is refused with what to do there", arguments: CatalogKind.available)
    func notPushed(kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        try Fixtures.write(Fixtures.randomRecords(count: 100, devices: Fixtures.metadata().devices, seed: 2), to: dir.file("p.vqt"))
        let location = try kind.freshLocation(dir)
        try CatalogLocation(parsing: location).open(host: .current(label: "a")).register(tracePath: dir.file("p.vqt"))
        try FileManager.default.removeItem(atPath: dir.file("p.vqt"))
        let other = try CatalogLocation(parsing: location).open(host: .current(label: "b"))
        let error = #expect(throws: CatalogError.self) { try other.resolve(try other.find("p")) }
        #expect(error?.description.contains("is a file on host a") == true && error?.description.contains("vqtrace traces push") == true)
    }

    @Test("an unreachable server is named with its host and port and what to check; the password is never shown")
    func unreachable() throws {
        let error = #expect(throws: CatalogError.self) {
            _ = try CatalogLocation(parsing: "postgres://fleet:s3cret@127.0.0.1:1/catalog").open()
        }
        let text = error?.description ?? ""
        #expect(text.contains("127.0.0.1:1") && text.contains("listens on TCP") && !text.contains("s3cret"), "\(text)")
        #expect(try CatalogLocation(parsing: "postgres://fleet:s3cret@db1/catalog").description == "postgres://fleet@db1:5432/catalog")
        #expect(throws: CatalogError.self) { try CatalogLocation(parsing: "postgres://db1/catalog") }
    }
}
