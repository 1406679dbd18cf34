import Catalog
import Foundation
import Testing
import TestSupport
@testable import Trace

/// `vqtrace catalog migrate`: a host's SQLite catalog copied into another catalog.
@Suite("Catalog migration")
struct CatalogCopyTests {
    @Test("a local catalog's traces, sweeps and runs arrive whole under new ids, with their hosts; --with-traces pushes the files", arguments: CatalogKind.available)
    func migrate(into kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        try Fixtures.write(Fixtures.randomRecords(count: 3000, devices: Fixtures.metadata().devices, seed: 5), to: dir.file("m.vqt"), recordsPerChunk: 500)
        let local = try TraceCatalog(path: dir.file("local.sqlite"))
        let trace = try local.register(tracePath: dir.file("m.vqt"))
        let sweep = try local.createSweep(traceId: trace.id, parametersJSON: "{\"layouts\":[\"single\"]}", traceFingerprint: trace.fingerprint)
        var ids: [Int64] = []
        for seed in 1...3 {
            ids.append(try local.storeRun(NewRun(traceId: trace.id, tracePath: trace.path, layoutSpec: "single", layoutJSON: "{}", backend: "null",
                                                 timing: "afap", target: "null", hostJSON: "{}", sweepId: sweep),
                                          CatalogStoreTests.results(queues: 4, buckets: 20, seed: seed)))
        }
        _ = try local.insertRun(NewRun(traceId: nil, tracePath: "/elsewhere.vqt", layoutSpec: "rr:2", layoutJSON: "{}", backend: "null",
                                       timing: "afap", target: "null", hostJSON: "{}"))

        let shared = try kind.fresh(dir, name: "shared", host: .current(label: "someone-else"))
        // Something already there, so the copies' ids cannot be the originals'.
        _ = try shared.createSweep(traceId: nil, parametersJSON: "{}")
        let report = try CatalogCopy.copy(from: local, to: shared, withTraces: true, relabel: "db7")
        #expect(report.traces == 1 && report.tracesPushed == 1 && report.sweeps == 1 && report.runs == 4, "\(report.lines)")

        let copied = try shared.find("m")
        #expect(copied.host == "db7" && copied.isPushed && copied.fingerprint == trace.fingerprint && copied.chunkCount == 6)
        let sweeps = try shared.sweeps(host: "db7")
        #expect(sweeps.count == 1 && sweeps[0].id != sweep && sweeps[0].traceId == copied.id)
        let runs = try shared.runs(sweepId: sweeps[0].id)
        #expect(runs.count == 3 && runs.allSatisfy { $0.isFinished && $0.host == "db7" && $0.traceId == copied.id })
        for (old, new) in zip(ids, runs.map(\.id)) {
            #expect(try shared.queues(ofRun: new) == local.queues(ofRun: old))
            #expect(try shared.timeline(ofRun: new) == local.timeline(ofRun: old))
        }
        #expect(try shared.rows("SELECT id FROM run WHERE summaryJSON IS NULL").count == 1)
        // The pushed bytes rebuild the file.
        try shared.pull(traceId: copied.id, to: dir.file("back.vqt"))
        #expect(Fixtures.bytes(of: dir.file("back.vqt")) == Fixtures.bytes(of: dir.file("m.vqt")))
        // A second copy skips what it copied before: the trace (same host and path), the sweep, the loose run.
        let again = try CatalogCopy.copy(from: local, to: shared, withTraces: false, relabel: "db7")
        #expect(again.skipped.count == 3 && again.runs == 0 && again.traces == 0, "\(again.lines)")
        #expect(try shared.rows("SELECT id FROM run").count == 4)
    }
}
