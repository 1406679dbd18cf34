import Foundation
import Testing
import TestSupport
@testable import Report

/// The report's answer decided by statistics: winner, equivalent, inconclusive, incomplete.
@Suite("Report outcomes")
struct ReportVerdictTests {
    static func runs(_ values: [(String, [Double])]) -> [ReportRun] {
        var id: Int64 = 0
        var runs: [ReportRun] = []
        // Interleaved, as a sweep stores them.
        for round in 0..<(values.map(\.1.count).max() ?? 0) {
            for (spec, iops) in values where round < iops.count {
                id += 1
                runs.append(ReportFixtures.run(id, spec, iops: iops[round]))
            }
        }
        return runs
    }

    /// The sample size for a two-sided Welch test at 95% with 80% power, worked out here from the
    /// printed t table, independently of RepeatEstimate: the smallest n (at least 3, and more
    /// than the runs made) with n ≥ (t.975(ν) + t.80(ν))² (s₁² + s₂²) / δ².
    static func expectedRepeats(_ a: [Double], _ b: [Double]) -> Int {
        let t975: [Int: Double] = [1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
                                   11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
                                   20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
                                   29: 2.045, 30: 2.042]
        let t80: [Int: Double] = [1: 1.376, 2: 1.061, 3: 0.978, 4: 0.941, 5: 0.920, 6: 0.906, 7: 0.896, 8: 0.889, 9: 0.883, 10: 0.879,
                                  11: 0.876, 12: 0.873, 13: 0.870, 14: 0.868, 15: 0.866, 16: 0.865, 17: 0.863, 18: 0.862, 19: 0.861,
                                  20: 0.860, 21: 0.859, 22: 0.858, 23: 0.858, 24: 0.857, 25: 0.856, 26: 0.856, 27: 0.855, 28: 0.855,
                                  29: 0.854, 30: 0.854]
        func variance(_ x: [Double]) -> Double {
            let m = x.reduce(0, +) / Double(x.count)
            return x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1)
        }
        let v1 = variance(a), v2 = variance(b)
        let delta = abs(a.reduce(0, +) / Double(a.count) - b.reduce(0, +) / Double(b.count))
        var n = max(3, max(a.count, b.count) + 1)
        while true {
            let nu = Int(((v1 + v2) * (v1 + v2) * Double(n - 1) / (v1 * v1 + v2 * v2)).rounded(.down))
            let t = t975[nu]! + t80[nu]!
            if Double(n) >= t * t * (v1 + v2) / (delta * delta) { return n }
            n += 1
        }
    }

    @Test("+20.69% with two runs each and a ±367,752 IOPS interval is inconclusive, with the repeats the formula gives and no recommendation")
    func inconclusiveHugeSpread() throws {
        let single = [180_000.0, 220_000], perVQ = [212_436.8, 270_323.2]
        let model = try ReportModel(ReportFixtures.input(runs: Self.runs([("single", single), ("rr:2", [190_000, 214_000]), ("per-vq", perVQ)])))
        let expected = Self.expectedRepeats(perVQ, single)
        #expect(expected > 2 && expected < 100)
        #expect(model.outcome == .inconclusive)
        #expect(model.verdict.repeatsSuggested == .runs(expected))
        #expect(model.answer.hasPrefix("Inconclusive: `per-vq` measured +20.69% IOPS against `single` (241380 against 200000, 2 runs each), but the runs spread ±367752 IOPS at 95%"))
        #expect(model.answer.contains("About \(expected) runs per layout would separate them"))
        #expect(model.answer.contains("vqtrace sweep TRACE --layouts single,rr:2,per-vq --repeat \(expected) --target /tmp/disk.img --backend io_uring --timing afap"))
        #expect(model.recommendation == nil && !model.answer.contains("Keep"))

        let html = model.html(), md = model.markdown(), json = model.json()
        #expect(html.contains("Outcome: <b>inconclusive</b>") && html.contains("<h2>No recommendation</h2>"))
        #expect(!html.contains("id='qemu'") && !html.contains("Recommended layout"))
        #expect(md.contains("**Inconclusive: `per-vq` measured +20.69%") && md.contains("Outcome: **inconclusive**") && !md.contains("Recommended layout"))
        #expect(md.contains("--repeat \(expected)"))
        #expect(json["outcome"] as? String == "inconclusive" && json["recommendation"] == nil)
        #expect(json["repeats_suggested"] as? Int == expected)
        #expect((json["next_command"] as? String)?.contains("--repeat \(expected)") == true)
    }

    @Test("a difference far below the noise asks for more than the cap, and gives no command that would not do")
    func inconclusiveBeyondCap() throws {
        let model = try ReportModel(ReportFixtures.input(runs: Self.runs([("single", [100_000, 130_000, 70_000]), ("rr:2", [100_500, 131_000, 71_000])])))
        #expect(model.outcome == .inconclusive && model.verdict.repeatsSuggested == .moreThan(100))
        #expect(model.answer.contains("More than 100 runs per layout would be needed"))
        #expect(model.verdict.nextCommand == nil && model.json()["repeats_suggested_more_than"] as? Int == 100)
    }

    @Test("tight, equal runs are equivalent: keeping the baseline is the measured answer, and the margin is stated")
    func equivalent() throws {
        let model = try ReportModel(ReportFixtures.input(runs: Self.runs([
            ("single", [100_000, 100_200, 99_800]), ("rr:2", [100_100, 100_300, 99_900]), ("per-vq", [99_900, 100_100, 99_700]),
        ])))
        #expect(model.outcome == .equivalent)
        #expect(model.answer.hasPrefix("Keep `single`: `rr:2` and `per-vq` are equivalent to it (rr:2 +0.10%, per-vq -0.10%; every difference's 95% interval lies within ±5% of its 100000 IOPS, 3 runs each)."))
        #expect(model.recommendation?.spec == "single")
        #expect(model.html().contains("within ±5% of the baseline's mean IOPS"))
        #expect(model.json()["outcome"] as? String == "equivalent" && model.json()["equivalence_margin"] as? Double == 0.05)
        #expect(!model.warnings.contains { $0.hasPrefix("Fewer than 3 runs") })
    }

    @Test("a clear win is a winner; a baseline that beats every layout beyond the noise is the winner too")
    func winners() throws {
        let win = try ReportModel(ReportFixtures.input(runs: Self.runs([("single", [100_000, 101_000, 99_000]), ("rr:2", [130_000, 131_000, 129_000])])))
        #expect(win.outcome == .winner && win.verdict.winner == "rr:2" && win.recommendation?.spec == "rr:2")
        #expect(win.answer.hasPrefix("`rr:2` wins: +30.00% IOPS over `single` (130000 against 100000, 3 runs each)"))
        #expect(win.json()["winner"] as? String == "rr:2")
        let keep = try ReportModel(ReportFixtures.input(runs: Self.runs([("single", [100_000, 101_000, 99_000]), ("rr:2", [80_000, 81_000, 79_000])])))
        #expect(keep.outcome == .winner && keep.verdict.winner == "single" && keep.recommendation?.spec == "single")
        #expect(keep.answer.hasPrefix("Keep `single`: every other layout measured fewer IOPS beyond the noise (rr:2 -20.00%; 3 runs each)."))
    }

    @Test("fewer than 3 runs per layout always warns, in every format, even with a clear win")
    func fewRuns() throws {
        let model = try ReportModel(ReportFixtures.input(runs: Self.runs([("single", [100_000, 100_100]), ("rr:2", [150_000, 150_100])])))
        #expect(model.outcome == .winner)
        let warning = try #require(model.warnings.first { $0.hasPrefix("Fewer than 3 runs per layout (single: 2, rr:2: 2)") })
        #expect(model.html().contains("<p class='warn'>\(SVGCharts.escape(warning))</p>"))
        #expect(model.markdown().contains("> \(warning)"))
        #expect((model.json()["warnings"] as? [String])?.contains(warning) == true)
    }

    @Test("a host with too few CPUs for the layouts' IOThreads cannot make 'keep single' a measured answer")
    func smallHost() throws {
        // The sample report's situation: 2 CPUs, 8 vqs, rr:2 and per-vq slower beyond the noise.
        var input = ReportFixtures.input(runs: Self.runs([("single", [104_000, 105_000, 104_500]), ("rr:2", [95_000, 95_500, 95_200]),
                                                          ("per-vq", [90_000, 90_500, 90_200])]), cpus: 2)
        input.numQueues = 8
        let model = try ReportModel(input)
        #expect(model.outcome == .inconclusive && model.recommendation == nil)
        #expect(model.answer.hasPrefix("Inconclusive on this host: no layout beat `single`"))
        #expect(model.answer.contains("this host's 2 CPUs are too few for the IOThreads of rr:2 (2 IOThreads) and per-vq (8 IOThreads)"))
        #expect(model.answer.contains("at least 9 CPUs") && !model.answer.contains("Keep"))
        #expect(model.caveats.contains { $0.hasPrefix("This host has 2 CPUs: rr:2 (2 IOThreads) and per-vq (8 IOThreads) take all of them") })
        #expect((model.json()["host_limited_layouts"] as? [[String: Any]])?.count == 2)

        // A gain measured on a small host stands, but the answer says what it could not show.
        var gain = ReportFixtures.input(runs: Self.runs([("single", [100_000, 101_000, 99_000]), ("rr:2", [115_000, 116_000, 114_000]),
                                                         ("per-vq", [90_000, 91_000, 89_000])]), cpus: 4)
        gain.numQueues = 8
        let won = try ReportModel(gain)
        #expect(won.outcome == .winner && won.recommendation?.spec == "rr:2")
        #expect(won.answer.contains("This host's 4 CPUs were too few for per-vq (8 IOThreads): it could not show its gain here"))
    }

    @Test("an interrupted sweep (3 layouts × 3 planned, one layout's runs and an unfinished run) is incomplete and recommends nothing, in HTML, Markdown and JSON")
    func interrupted() throws {
        var input = ReportFixtures.input(runs: Self.runs([("single", [100_000, 101_000, 99_000])]))
        input.plan = SweepPlan(sweepId: 4, layouts: ["single", "rr:2", "per-vq"], repeats: 3)
        input.unfinishedRuns = [UnfinishedRun(id: 4, configuration: "rr:2", startedAt: "2025-01-01T00:00:00Z")]
        let model = try ReportModel(input)
        #expect(model.outcome == .incomplete && model.recommendation == nil && model.verdict.winner == nil)
        #expect(model.answer.hasPrefix("Incomplete: rr:2: 0 of 3 runs; per-vq: 0 of 3 runs; the sweep was interrupted or failed"))
        #expect(!model.answer.contains("Keep") && !model.answer.contains("wins"))
        #expect(model.warnings.contains { $0.hasPrefix("Sweep 4 is incomplete: rr:2: 0 of 3 runs; per-vq: 0 of 3 runs") })
        #expect(model.warnings.contains("Run 4 (rr:2) started 2025-01-01T00:00:00Z and never finished: it counts as missing."))

        let html = model.html()
        #expect(html.contains("<ul class='warn' id='missing'><li>rr:2: 0 of 3 runs</li><li>per-vq: 0 of 3 runs</li></ul>"))
        #expect(html.contains("Outcome: <b>incomplete</b>") && !html.contains("id='qemu'") && !html.contains("Recommended layout"))
        let md = model.markdown()
        #expect(md.contains("- rr:2: 0 of 3 runs\n- per-vq: 0 of 3 runs") && !md.contains("Recommended layout") && !md.contains("```xml"))
        let json = model.json()
        #expect(json["outcome"] as? String == "incomplete" && json["recommendation"] == nil && json["winner"] == nil)
        let missing = try #require(json["missing_runs"] as? [[String: Any]])
        #expect(missing.map { $0["layout"] as? String } == ["rr:2", "per-vq"] && missing.map { $0["finished"] as? Int } == [0, 0])
        #expect((json["unfinished_runs"] as? [[String: Any]])?.first?["run"] as? Int64 == 4)

        // Fewer runs than planned for a layout that has some is missing too.
        var partial = input
        partial.runs = Self.runs([("single", [100_000, 101_000, 99_000]), ("rr:2", [120_000]), ("per-vq", [130_000])])
        let some = try ReportModel(partial)
        #expect(some.answer.hasPrefix("Incomplete: rr:2: 1 of 3 runs; per-vq: 1 of 3 runs;"))
    }

    @Test("a sweep interrupted before any run finished still reports what is missing")
    func nothingFinished() throws {
        var input = ReportFixtures.input(runs: [])
        input.plan = SweepPlan(sweepId: 2, layouts: ["single", "rr:2"], repeats: 2)
        let model = try ReportModel(input)
        #expect(model.outcome == .incomplete && model.answer.hasPrefix("Incomplete: single: 0 of 2 runs; rr:2: 0 of 2 runs;"))
        #expect(!model.html().contains("<svg") && model.markdown().contains("## No recommendation"))
        #expect(throws: ReportError.self) { try ReportModel(ReportFixtures.input(runs: [])) }
    }

    @Test("one layout alone answers nothing")
    func onlyBaseline() throws {
        let model = try ReportModel(ReportFixtures.input(runs: Self.runs([("single", [100_000, 101_000, 99_000])])))
        #expect(model.outcome == .inconclusive && model.recommendation == nil)
        #expect(model.answer.hasPrefix("Inconclusive: only `single` was measured (3 runs, 100000 IOPS)"))
    }

    @Test("headless Chromium shows an inconclusive report's verdict: the answer and the outcome say inconclusive, and nothing is recommended",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "needs Debian's chromium (make deps installs it)"))
    func chromiumInconclusive() throws {
        let scratch = ScratchDirectory()
        let model = try ReportModel(ReportFixtures.input(runs: Self.runs([("single", [180_000, 220_000]), ("per-vq", [212_436.8, 270_323.2])])))
        try model.html().write(toFile: scratch.file("report.html"), atomically: true, encoding: .utf8)
        let dom = try runChild("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(scratch.path)/profile",
                                                     "--dump-dom", "file://\(scratch.path)/report.html"]).text
        #expect(dom.contains("<p class=\"answer\" id=\"answer\" data-outcome=\"inconclusive\">Inconclusive: per-vq measured +20.69% IOPS"))
        #expect(dom.contains("Outcome: <b>inconclusive</b>") && dom.contains("<h2>No recommendation</h2>") && !dom.contains("id=\"qemu\""))
    }
}
