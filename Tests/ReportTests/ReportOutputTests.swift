import Catalog
import Foundation
import Testing
import TestSupport
@testable import Report
@testable import Runs

/// Report files as a new user meets them: whole or not at all, never over someone's file, the
/// format from the name, the text report on a terminal, the catalog's sweeps listed.
@Suite("Report output files", .serialized)
struct ReportOutputTests {
    @Test("a report is written as NAME.partial and renamed; an existing vqtrace report is replaced, any other file only with force")
    func atomicAndRefusesForeignFiles() throws {
        let dir = ScratchDirectory()
        let model = try ReportModel(ReportFixtures.input())
        let notes = dir.file("notes.html")
        try "my notes".write(toFile: notes, atomically: false, encoding: .utf8)
        #expect(throws: ReportFileError.notAReport(path: notes)) { try model.write(htmlPath: notes) }
        #expect(try String(contentsOfFile: notes, encoding: .utf8) == "my notes")
        // Refused before anything is written: not the .md or .json beside it either.
        #expect(!FileManager.default.fileExists(atPath: dir.file("notes.md")))
        #expect(ReportFileError.notAReport(path: notes).isUsageMistake)

        let files = try model.write(htmlPath: dir.file("r.html"))
        #expect(files == [dir.file("r.html"), dir.file("r.md"), dir.file("r.json")])
        #expect(try String(contentsOfFile: dir.file("r.html"), encoding: .utf8).contains(ReportFile.htmlMark))
        #expect(try String(contentsOfFile: dir.file("r.md"), encoding: .utf8).hasSuffix(ReportFile.markdownMark + "\n"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("r.json")))) as? [String: Any]
        #expect(json?["generator"] as? String == "vqtrace-report")
        #expect(!FileManager.default.fileExists(atPath: dir.file("r.html.partial")))
        // A second sweep replaces its own report, and --force replaces the notes.
        _ = try model.write(htmlPath: dir.file("r.html"))
        _ = try model.write(htmlPath: notes, force: true)
        #expect(try String(contentsOfFile: notes, encoding: .utf8).contains(ReportFile.htmlMark))
        // A Markdown report written before the marks is a report too.
        try "# Which layout?\n\n**x**\n\nOutcome: **winner**. y\n".write(toFile: dir.file("old.md"), atomically: false, encoding: .utf8)
        try ReportFile.check(dir.file("old.md"), force: false)
    }

    @Test("a write that cannot finish leaves neither the name nor a partial file")
    func failedWriteLeavesNothing() throws {
        let dir = ScratchDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("taken.html"), withIntermediateDirectories: true)
        #expect(throws: ReportFileError.self) { try ReportFile.write("x", format: .html, to: dir.file("taken.html"), force: true) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("taken.html.partial")))
    }

    @Test("report --out picks the format from the extension, refuses an unknown one, and without --out the text report is printed")
    func formatFromExtension() throws {
        #expect(try ReportRequest(sweep: "3", runs: nil, hosts: nil, format: nil, out: "a.html").format == .html)
        #expect(try ReportRequest(sweep: "3", runs: nil, hosts: nil, format: nil, out: "a.txt").format == .md)
        #expect(try ReportRequest(sweep: "3", runs: nil, hosts: nil, format: nil, out: "a.JSON").format == .json)
        #expect(try ReportRequest(sweep: "3", runs: nil, hosts: nil, format: nil, out: nil).format == .md)
        #expect(throws: ReportFileError.unknownExtension(path: "a.pdf")) { try ReportRequest(sweep: "3", runs: nil, hosts: nil, format: nil, out: "a.pdf") }
        #expect(ReportFileError.unknownExtension(path: "a.pdf").description.contains("unknown extension .pdf"))
        #expect(throws: ReportError.self) { try ReportRequest(sweep: "3", runs: nil, hosts: nil, format: "json", out: "a.html") }
        #expect(throws: ReportError.self) { try ReportRequest(sweep: "0", runs: nil, hosts: nil, format: nil, out: nil) }
        #expect(throws: ReportError.self) { try ReportRequest(sweep: nil, runs: nil, hosts: nil, format: nil, out: nil) }

        let fixture = try CatalogFixture(capacityBytes: 1 << 30)
        let sweep = try fixture.sweep(layouts: ["single", "rr:2"], repeats: 1)
        try fixture.run("single", iops: 100_000, sweepId: sweep)
        try fixture.run("rr:2", iops: 120_000, sweepId: sweep)
        let printed = try ReportRequest(sweep: "\(sweep)", runs: nil, hosts: nil, format: nil, out: nil).run(catalog: fixture.catalog)
        #expect(printed.hasPrefix("# IOThread layout comparison") && !printed.contains("<html"))
        let out = fixture.scratch.file("out/r.json")
        #expect(try ReportRequest(sweep: "\(sweep)", runs: nil, hosts: nil, format: nil, out: out).run(catalog: fixture.catalog) == "wrote \(out)\n")
        #expect(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("{"))
        // A sweep or run that is not there is the user's mistake (exit 2), and says where to look.
        let error = #expect(throws: ReportError.self) { try ReportRequest(sweep: "99", runs: nil, hosts: nil, format: nil, out: nil).run(catalog: fixture.catalog) }
        #expect(error?.isUsageMistake == true && error?.description.contains("report --list") == true)
        #expect(throws: ReportError.self) { try ReportRequest(sweep: nil, runs: "1,77", hosts: nil, format: nil, out: nil).run(catalog: fixture.catalog) }
    }

    @Test("report --list lists every sweep: id, trace, layouts, finished of planned runs, complete or not, date")
    func listsSweeps() throws {
        let fixture = try CatalogFixture(capacityBytes: 1 << 30)
        #expect(try SweepListing.text(catalog: fixture.catalog).hasPrefix("no sweeps in"))
        let whole = try fixture.sweep(layouts: ["single", "rr:2"], repeats: 1)
        try fixture.run("single", iops: 100_000, sweepId: whole)
        try fixture.run("rr:2", iops: 120_000, sweepId: whole)
        let half = try fixture.sweep(layouts: ["single", "per-vq"], repeats: 2)
        try fixture.run("single", iops: 100_000, sweepId: half)
        let entries = try SweepListing.entries(catalog: fixture.catalog)
        #expect(entries.map(\.id) == [whole, half])
        #expect(entries[0].isComplete && entries[0].layouts == ["single", "rr:2"] && entries[0].trace == "t.vqt")
        #expect(!entries[1].isComplete && entries[1].finished == 1 && entries[1].planned == 4)
        let text = try SweepListing.text(catalog: fixture.catalog)
        #expect(text.contains("single,per-vq") && text.contains("1/4") && text.contains("incomplete") && text.contains(entries[0].createdAt))
    }

    @Test("a sweep's stored command line is shown in its report, to run it again")
    func commandLineShown() throws {
        let fixture = try CatalogFixture(capacityBytes: 1 << 30)
        let parameters = SweepParameters(layouts: ["single", "rr:2"], repeats: 1, commandLine: "vqtrace sweep t.vqt --layouts single,rr:2 --repeat 1 --target '/tmp/my disk.img'")
        let sweep = try fixture.catalog.createSweep(traceId: nil, parametersJSON: try parameters.encoded())
        try fixture.run("single", iops: 100_000, sweepId: sweep)
        try fixture.run("rr:2", iops: 120_000, sweepId: sweep)
        let model = try ReportModel(try ReportLoader.load(sweepId: sweep, catalog: fixture.catalog, title: "t", baseline: nil))
        #expect(model.markdown().contains("```sh\nvqtrace sweep t.vqt --layouts single,rr:2 --repeat 1 --target '/tmp/my disk.img'\n```"))
        #expect(model.html().contains("<pre id='command'>vqtrace sweep t.vqt"))
        #expect((model.json()["plan"] as? [String: Any])?["command_line"] as? String == parameters.commandLine)
    }
}

/// Open-loop sweeps: the schedule fixes the IOPS, so latency p99 decides; runs whose schedule
/// was not kept decide nothing.
@Suite("Open-loop verdicts")
struct OpenLoopVerdictTests {
    static func run(_ id: Int64, _ spec: String, iops: Double, p99: Double, missed: Bool = false) -> ReportRun {
        var run = ReportFixtures.run(id, spec, iops: iops, p99: p99)
        run.latenessP99Ns = missed ? 5_000_000 : 20_000
        run.scheduleMissed = missed
        return run
    }

    static func input(_ runs: [ReportRun]) -> ReportInput {
        var input = ReportFixtures.input(runs: runs)
        input.layouts = ["single", "rr:2"]
        input.timing = "open"
        return input
    }

    @Test("open loop: equal IOPS, rr:2's latency p99 lower beyond the noise wins on latency p99, and the report says the criterion")
    func latencyDecides() throws {
        let runs = [Self.run(1, "single", iops: 20_000, p99: 800_000), Self.run(2, "rr:2", iops: 20_001, p99: 400_000),
                    Self.run(3, "single", iops: 20_000, p99: 810_000), Self.run(4, "rr:2", iops: 19_999, p99: 410_000),
                    Self.run(5, "single", iops: 20_001, p99: 790_000), Self.run(6, "rr:2", iops: 20_000, p99: 390_000)]
        let model = try ReportModel(Self.input(runs))
        #expect(model.outcome == .winner && model.verdict.winner == "rr:2")
        #expect(model.answer.hasPrefix("`rr:2` wins: -50.00% latency p99 against `single` (400 µs against 800 µs, 3 runs each)"))
        #expect(model.decisionRule.hasPrefix("Criterion: latency p99. These runs are open loop"))
        #expect(model.json()["criterion"] as? String == "latency_p99")
        // The same runs closed loop are judged on IOPS: equivalent.
        var closed = Self.input(runs)
        closed.timing = "afap"
        #expect(try ReportModel(closed).outcome == .equivalent)
    }

    @Test("runs whose open-loop schedule was not kept are left out of the statistics and the verdict, and the report says so")
    func missedRunsExcluded() throws {
        // rr:2's third run missed its schedule with a latency that would make it look bad.
        let runs = [Self.run(1, "single", iops: 20_000, p99: 800_000), Self.run(2, "rr:2", iops: 20_001, p99: 400_000),
                    Self.run(3, "single", iops: 20_000, p99: 810_000), Self.run(4, "rr:2", iops: 19_999, p99: 410_000),
                    Self.run(5, "single", iops: 20_001, p99: 790_000), Self.run(6, "rr:2", iops: 20_000, p99: 90_000_000, missed: true)]
        let model = try ReportModel(Self.input(runs))
        #expect(model.results.first { $0.spec == "rr:2" }?.runs.map(\.id) == [2, 4])
        #expect(model.outcome == .winner && model.verdict.winner == "rr:2")
        #expect(model.warnings.contains { $0.hasPrefix("1 of 6 runs did not keep the open-loop schedule (run 6 rr:2)") && $0.contains("left out of the tables, the charts and the verdict") })
        #expect(model.decisionRule.contains("runs whose open-loop schedule was not kept are left out"))
        #expect(model.verdict.missing.isEmpty)
        // The JSON still lists every run, the one left out marked.
        let listed = try #require(model.json()["runs"] as? [[String: Any]])
        #expect(listed.count == 6 && listed.filter { $0["schedule_missed"] as? Bool == true }.compactMap { $0["run"] as? Int64 } == [6])

        // Every run of rr:2 missed: nothing to compare with, inconclusive, not incomplete.
        let allMissed = [Self.run(1, "single", iops: 20_000, p99: 800_000), Self.run(2, "rr:2", iops: 20_000, p99: 400_000, missed: true),
                         Self.run(3, "single", iops: 20_000, p99: 810_000), Self.run(4, "rr:2", iops: 20_000, p99: 400_000, missed: true)]
        let none = try ReportModel(Self.input(allMissed))
        #expect(none.outcome == .inconclusive && none.recommendation == nil)
        #expect(none.answer.contains("could not keep the open-loop schedule in 2 of 4 runs") && none.answer.contains("leaves `rr:2` without a run to compare"))
    }
}

@Suite("Chart axes")
struct ChartAxisTests {
    @Test("axis ticks are at 1, 2 or 5 × 10^n")
    func niceTicks() {
        func isNice(_ step: Double) -> Bool {
            let mantissa = step / pow(10, floor(log10(step)))
            return [1.0, 2, 5].contains { abs($0 - mantissa) < 1e-9 }
        }
        for top in [1.0, 7, 250_000, 123_580, 0.37, 1e6, 99, 3.3e9] {
            let ticks = SVGCharts.ticks(upTo: top)
            let step = ticks[1] - ticks[0]
            #expect(ticks.first == 0 && ticks.last! >= top && ticks.count <= 7 && isNice(step), "top \(top): \(ticks)")
        }
        #expect(SVGCharts.ticks(upTo: 250_000) == [0, 50_000, 100_000, 150_000, 200_000, 250_000])
        #expect(SVGCharts.ticks(upTo: 1).map { ($0 * 10).rounded() } == [0, 2, 4, 6, 8, 10])
        #expect(SVGCharts.logTicks(from: 10_000, to: 900_000) == [10_000, 20_000, 50_000, 100_000, 200_000, 500_000])
        #expect(SVGCharts.ticks(from: 0, to: 2.9) == [0, 1, 2])
        #expect(SVGCharts.ticks(from: 0, to: 2.5).map { ($0 * 10).rounded() } == [0, 5, 10, 15, 20, 25])
        // The bar chart draws those ticks.
        let svg = SVGCharts.bars(title: "t", labels: ["a"], values: [123_580], errors: [0], unit: "IOPS")
        #expect(svg.contains(">50k<") && svg.contains(">150k<") && !svg.contains(">37k<"))
        // A value nobody measured is said, not drawn as a bar of 0.
        let cpu = SVGCharts.bars(title: "cpu", labels: ["single", "single via qsd"], values: [42, 0], errors: [0, 0], unit: "%", unmeasured: [1])
        #expect(cpu.components(separatedBy: "<rect").count - 1 == 1 && cpu.contains(">not measured<") && cpu.contains(">single via qsd<"))
    }
}
