import Compare
import Foundation
import Testing
import TestSupport
@testable import Trace

/// `replay --record --compare` and `compare` end to end: the figures the commands print are the
/// figures the library computes on the same files.
@Suite("vqtrace compare command", .serialized)
struct CompareCommandTests {
    @Test("generate, replay with --record --compare on the null backend and on a file: the printed figures are the library's")
    func endToEnd() throws {
        let dir = ScratchDirectory()
        let catalog = dir.file("catalog.sqlite")
        let made = try runVQTrace(["generate", "--workload", "fio", "--numjobs", "2", "--duration", "1s", "--rate-iops", "2000",
                                   "--capacity", "64m", "--out", dir.file("a.vqt"), "--catalog", catalog], in: dir.path)
        #expect(made.status == 0, "\(made.output)")
        for (name, backend) in [("null", ["--backend", "null"]), ("file", ["--target", dir.file("disk.img")])] {
            let out = dir.file("b-\(name).vqt")
            let replay = try runVQTrace(["replay", "a", "--record", out, "--compare", "--json", "--catalog", catalog] + backend, in: dir.path)
            #expect(replay.status == 0, "\(replay.output)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(replay.output.utf8)) as? [String: Any])
            let fidelity = try #require(json["fidelity"] as? [String: Any])
            let expected = try TraceComparison.compare(TraceReader(path: dir.file("a.vqt")), TraceReader(path: out))
            // (JSON text round trips a double to its last digit or so.)
            #expect(abs((fidelity["iops_error"] as? Double ?? -1) - expected.overall.iopsError) < 1e-12)
            #expect(abs((fidelity["reordered_share"] as? Double ?? -1) - expected.overall.reorderedShare) < 1e-12)
            #expect(fidelity["answer"] as? String == expected.answer)
            #expect(expected.overall.sameRequests && expected.overall.a.requests == 4000)
            // The recorder keeps each vq's pop order: the replay issued every vq in order.
            #expect(expected.overall.reorderedShare == 0, "\(expected.answer)")
            #expect((json["recording"] as? [String: Any])?["records"] as? Int == 4000)
            #expect((json["timeline"] as? [Int])?.reduce(0, +) == 4000)

            let text = try runVQTrace(["compare", dir.file("a.vqt"), out, "--html", dir.file("\(name).html")], in: dir.path)
            #expect(text.status == 0 && text.output.hasPrefix(expected.answer), "\(text.output)")
            let html = try String(contentsOfFile: dir.file("\(name).html"), encoding: .utf8)
            #expect(html.contains("<svg") && html.contains("LBA heat map") && html.contains("latency CDF") && html.contains("vda vq1"))
        }
        // Closed-loop timing keeps each vq's order too.
        let closed = try runVQTrace(["replay", "a", "--backend", "null", "--timing", "closed", "--record", dir.file("closed.vqt"), "--compare",
                                     "--no-catalog", "--catalog", catalog], in: dir.path)
        #expect(closed.status == 0 && closed.output.contains(", 0.00% reordered"), "\(closed.output)")
        let stored = try runVQTrace(["report", "--runs", "1,2", "--format", "json", "--catalog", catalog], in: dir.path)
        // Every run's fidelity, also of runs an open-loop verdict leaves out (schedule not kept).
        let storedRuns = (try JSONSerialization.jsonObject(with: Data(stored.output.utf8)) as? [String: Any])?["runs"] as? [[String: Any]]
        #expect(storedRuns?.count == 2 && storedRuns?.allSatisfy { $0["fidelity"] is [String: Any] } == true, "\(stored.output)")
        let noRecord = try runVQTrace(["replay", "a", "--backend", "null", "--compare", "--catalog", catalog], in: dir.path)
        #expect(noRecord.status == 2 && noRecord.output.contains("--compare needs --record"))
    }
}
