import Catalog
import Foundation
import Testing
import TestSupport
@testable import Trace

/// A fleet on one machine: processes with different host labels, one PostgreSQL catalog, no
/// shared files (each trace is pushed and its file deleted).
@Suite("Fleet: many hosts, one PostgreSQL catalog", .serialized, .enabled(if: TestPostgres.url != nil, Comment(rawValue: TestPostgres.missing)))
struct FleetTests {
    /// A pushed OLTP-shaped trace named `t` and the catalog URL; the local file is gone.
    static func pushedTrace(_ dir: ScratchDirectory, requests: Int, recordsPerChunk: Int = 65_536) throws -> (url: String, bytes: [UInt8], reader: TraceReader) {
        let url = try TestPostgres.freshDatabase()
        let synth = try runVQTrace(["traces", "synth", "--out", dir.file("t.vqt"), "--requests", "\(requests)", "--iops", "20000",
                                    "--records-per-chunk", "\(recordsPerChunk)", "--no-catalog"], in: dir.path)
        #expect(synth.status == 0, "\(synth.output)")
        let push = try runVQTrace(["traces", "push", dir.file("t.vqt"), "--catalog", url, "--host-label", "recorder"], in: dir.path)
        #expect(push.status == 0 && push.output.contains("pushed trace 1 (t)"), "\(push.output)")
        let bytes = Fixtures.bytes(of: dir.file("t.vqt"))
        let reader = try TraceReader(path: dir.file("t.vqt"))
        try FileManager.default.removeItem(atPath: dir.file("t.vqt"))
        return (url, bytes, reader)
    }

    @Test("three hosts sweep one trace into the catalog at once: every run arrives whole, once; a SIGKILLed host leaves only complete runs; the cross-host report holds every host")
    func threeHostsAndAKill() throws {
        let dir = ScratchDirectory()
        let (url, _, _) = try Self.pushedTrace(dir, requests: 20_000)
        func sweep(_ host: String, repeats: Int) throws -> RunningChild {
            try RunningChild(vqtraceExecutable(), ["sweep", "t", "--backend", "null", "--layouts", "single,rr:2", "--repeat", "\(repeats)",
                                                   "--timing", "afap", "--catalog", url, "--host-label", host, "--report", dir.file("\(host).html")], in: dir.path)
        }
        let hosts = ["host-a", "host-b", "host-c"]
        let children = try hosts.map { try sweep($0, repeats: 3) }
        let doomed = try sweep("doomed", repeats: 50)
        #expect(doomed.waitFor("(run ", timeout: 120), "\(doomed.text)")
        doomed.signal(SIGKILL)
        let killed = doomed.finish(timeout: 30)
        #expect(killed.signalled)
        for (host, child) in zip(hosts, children) {
            let result = child.finish(timeout: 300)
            #expect(result.status == 0 && result.text.contains("report:"), "\(host): \(result.text)")
        }

        let catalog = try CatalogLocation(parsing: url).open(host: .current(label: "reader"))
        let runs = try catalog.rows("SELECT id, host, summaryJSON IS NOT NULL AS finished FROM run ORDER BY id")
        #expect(Set(runs.map { $0["id"] }).count == runs.count)
        #expect(runs.allSatisfy { $0["finished"] == "1" || $0["finished"] == "true" }, "a run without results: \(runs)")
        for host in hosts { #expect(runs.filter { $0["host"] == host }.count == 6, "\(host)") }
        let doomedRuns = runs.filter { $0["host"] == "doomed" }.count
        #expect(doomedRuns >= 1 && doomedRuns < 100)
        // Every stored run has all of its results: 8 vqs, its IOThreads and a timeline.
        let queues = try catalog.rows("SELECT runId, COUNT(*) AS n FROM runQueue GROUP BY runId")
        #expect(queues.count == runs.count && queues.allSatisfy { $0["n"] == "8" })
        #expect(try catalog.rows("SELECT DISTINCT runId FROM runTimeline").count == runs.count)
        #expect(try catalog.rows("SELECT DISTINCT runId FROM runIOThread").count == runs.count)
        #expect(try catalog.rows("SELECT id FROM sweep").count == 4)

        let report = try runVQTrace(["report", "--hosts", hosts.joined(separator: ","), "--format", "json", "--catalog", url], in: dir.path)
        #expect(report.status == 0, "\(report.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.output.utf8)) as? [String: Any])
        #expect((json["hosts"] as? [[String: Any]])?.compactMap { $0["host"] as? String } == hosts)
        let tables = try #require(json["tables"] as? [[String: Any]])
        #expect(tables.map { $0["metric"] as? String } == ["IOPS", "MB/s", "latency p50", "latency p99", "latency p99.9", "IOThread CPU"])
        #expect(tables.allSatisfy { ($0["rows"] as? [[String: Any]])?.count == 3 })
        #expect((json["answer"] as? String)?.isEmpty == false && json["holds_on_every_host"] is Bool)
        let markdown = try runVQTrace(["report", "--sweep", "1,2,3", "--format", "md", "--catalog", url], in: dir.path)
        #expect(markdown.status == 0 && markdown.output.contains("## IOPS") && markdown.output.contains("| host | single | rr:2 |"), "\(markdown.output)")
    }

    @Test("a trace pushed by one process replays on another from the catalog alone, its 1 s window fetching only that window's chunks; pull is byte-identical")
    func pushReplayPull() throws {
        let dir = ScratchDirectory()
        // 100k requests at 20k IOPS: 5 s in chunks of 2000 requests, a tenth of a second each.
        let (url, original, reader) = try Self.pushedTrace(dir, requests: 100_000, recordsPerChunk: 2000)
        let start = reader.totals.firstSubmitNs
        let window = reader.chunkRange(from: start + 2_000_000_000, to: start + 3_000_000_000)
        #expect(window.count >= 10 && window.count < reader.chunks.count / 2)
        let replay = try runVQTrace(["replay", "t", "--backend", "null", "--timing", "afap", "--from", "2s", "--to", "3s", "--json",
                                     "--catalog", url, "--host-label", "replayer"], in: dir.path)
        #expect(replay.status == 0, "\(replay.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(replay.output.utf8)) as? [String: Any])
        #expect(json["catalog_chunks_fetched"] as? Int == window.count)
        #expect((json["replayed"] as? Int ?? 0) > 15_000)
        let pull = try runVQTrace(["traces", "pull", "t", "--out", dir.file("pulled.vqt"), "--catalog", url], in: dir.path)
        #expect(pull.status == 0 && pull.output.contains("verified"), "\(pull.output)")
        #expect(Fixtures.bytes(of: dir.file("pulled.vqt")) == original)
        let verify = try runVQTrace(["traces", "verify", dir.file("pulled.vqt")], in: dir.path)
        #expect(verify.status == 0, "\(verify.output)")
        // VQTRACE_CATALOG names the catalog of every command without --catalog.
        let list = try runChild("/usr/bin/env", ["VQTRACE_CATALOG=\(url)", vqtraceExecutable(), "traces", "list"], in: dir.path, mergingStandardError: true)
        #expect(list.status == 0 && list.text.contains("pushed") && list.text.contains("recorder"), "\(list.text)")
        // A catalog that cannot be reached says where and what to check, and never its password.
        let secret = "postgres://fleet:hunter2@127.0.0.1:1/fleet"
        let help = try runChild("/usr/bin/env", ["VQTRACE_CATALOG=\(secret)", vqtraceExecutable(), "traces", "list", "--help"], in: dir.path, mergingStandardError: true)
        #expect(help.status == 0 && !help.text.contains("hunter2"))
        let down = try runChild("/usr/bin/env", ["VQTRACE_CATALOG=\(secret)", vqtraceExecutable(), "traces", "list"], in: dir.path, mergingStandardError: true)
        #expect(down.status == 1 && down.text.contains("127.0.0.1:1") && !down.text.contains("hunter2"), "\(down.text)")
    }
}
