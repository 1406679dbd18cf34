import Catalog
import Foundation
import Testing
@testable import Trace

/// `vqtrace replay` end to end: the binary, a real trace, a real catalog.
@Suite("vqtrace replay command", .serialized)
struct ReplayCommandTests {
    @Test("a replay prints fio-shaped JSON and stores the run with its IOThreads, vqs and timeline in the catalog")
    func storesRun() throws {
        let dir = ScratchDirectory()
        let catalog = dir.file("catalog.sqlite")
        let synth = try runVQTrace(["traces", "synth", "--out", dir.file("t.vqt"), "--requests", "3000", "--iops", "30000", "--catalog", catalog], in: dir.path)
        #expect(synth.status == 0, "\(synth.output)")
        let run = try runVQTrace(["replay", "t", "rr:2", "--backend", "null", "--timing", "open", "--json", "--catalog", catalog], in: dir.path)
        #expect(run.status == 0, "\(run.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        #expect(json["replayed"] as? Int == 3000)
        let job = try #require((json["jobs"] as? [[String: Any]])?.first)
        let ios = ((job["read"] as? [String: Any])?["total_ios"] as? Int ?? 0) + ((job["write"] as? [String: Any])?["total_ios"] as? Int ?? 0)
        #expect(ios > 2000)  // reads and writes; the flushes are the rest
        #expect((json["lateness_ns"] as? [String: Any])?["p99"] != nil)
        let runId = try #require(json["run_id"] as? Int)

        let open = try TraceCatalog(path: catalog)
        let rows = try open.rows("SELECT layoutSpec, backend, timing, endedAt, tracePath FROM run WHERE id = ?", [runId])
        #expect(rows.first?["layoutSpec"] == "rr:2" && rows.first?["backend"] == "null" && rows.first?["timing"] == "open")
        #expect(rows.first?["endedAt"] != "NULL")
        #expect(try open.rows("SELECT iothread FROM runIOThread WHERE runId = ?", [runId]).count == 2)
        #expect(try open.rows("SELECT vq FROM runQueue WHERE runId = ?", [runId]).count == 8)
        let timeline = try open.rows("SELECT SUM(requests) AS n FROM runTimeline WHERE runId = ?", [runId])
        #expect(timeline.first?["n"] == "3000")
    }

    @Test("bad options and a missing trace give clear errors and no run")
    func errors() throws {
        let dir = ScratchDirectory()
        let missing = try runVQTrace(["replay", "nope", "--backend", "null", "--catalog", dir.file("c.sqlite")], in: dir.path)
        #expect(missing.status != 0 && missing.output.contains("no trace \"nope\""))
        let noTarget = try runVQTrace(["replay", "x.vqt"], in: dir.path)
        #expect(noTarget.status != 0 && noTarget.output.contains("needs --target"))
    }
}
