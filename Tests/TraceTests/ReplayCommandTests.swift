import Catalog
import Foundation
import Testing
import TestSupport
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

@Suite("vqtrace sweep command", .serialized)
struct SweepCommandTests {
    @Test("a sweep stores its runs under one id and its report's numbers are those runs' numbers")
    func sweepReport() throws {
        let dir = ScratchDirectory()
        let catalog = dir.file("catalog.sqlite")
        #expect(try runVQTrace(["traces", "synth", "--out", dir.file("t.vqt"), "--requests", "4000", "--capacity", "64m", "--catalog", catalog], in: dir.path).status == 0)
        let sweep = try runVQTrace(["sweep", "t", "--backend", "null", "--timing", "afap", "--repeat", "2", "--layouts", "single,rr:2",
                                    "--report", dir.file("r/report.html"), "--catalog", catalog], in: dir.path)
        #expect(sweep.status == 0, "\(sweep.output)")
        for ext in ["html", "md", "json"] { #expect(FileManager.default.fileExists(atPath: dir.file("r/report.\(ext)"))) }

        let open = try TraceCatalog(path: catalog)
        let runs = try open.rows("SELECT id, layoutSpec, summaryJSON FROM run WHERE sweepId = 1 ORDER BY id")
        #expect(runs.map { $0["layoutSpec"] } == ["single", "rr:2", "single", "rr:2"])  // interleaved
        func iops(_ row: [String: String]) throws -> Double {
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(row["summaryJSON"]!.utf8)) as? [String: Any])
            return try #require(summary["iops"] as? Double)
        }
        let single = try runs.filter { $0["layoutSpec"] == "single" }.map(iops)
        let rr2 = try runs.filter { $0["layoutSpec"] == "rr:2" }.map(iops)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("r/report.json")))) as? [String: Any])
        let layouts = try #require(report["layouts"] as? [[String: Any]])
        let singleMean = single.reduce(0, +) / 2, rr2Mean = rr2.reduce(0, +) / 2
        #expect(abs(((layouts[0]["iops"] as? [String: Any])?["mean"] as? Double ?? 0) - singleMean) < 1e-6)
        #expect(abs((layouts[1]["iops_change"] as? Double ?? 0) - (rr2Mean / singleMean - 1)) < 1e-9)
        let html = try String(contentsOfFile: dir.file("r/report.html"), encoding: .utf8)
        #expect(html.contains(String(format: "%+.2f%%", (rr2Mean / singleMean - 1) * 100)))
        #expect(html.contains("<svg"))
        // Two null-backend runs per layout may or may not settle the question; the snippets
        // appear exactly when the report recommends a layout.
        let recommends = report["recommendation"] != nil
        #expect(["winner", "equivalent"].contains(report["outcome"] as? String) == recommends)
        #expect(html.contains("id='qemu'") == recommends && html.contains("id='libvirt'") == recommends)

        // The same report again from the catalog.
        let again = try runVQTrace(["report", "--sweep", "1", "--format", "md", "--catalog", catalog], in: dir.path)
        #expect(again.status == 0 && again.output.contains("| layout | IOPS |"))
    }
}
