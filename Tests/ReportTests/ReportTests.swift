import Foundation
import Layout
import Testing
import TestSupport
@testable import Report

enum ReportFixtures {
    static func run(_ id: Int64, _ spec: String, iops: Double, p99: Double = 400_000) -> ReportRun {
        ReportRun(id: id, layoutSpec: spec, iops: iops, bytesPerSecond: iops * 8192, p50Ns: p99 / 4, p99Ns: p99, p999Ns: p99 * 2,
                  iothreadCPU: [("iothread1", 60)], timeline: [UInt64(iops / 10), UInt64(iops / 10)],
                  latencyCDF: [(10_000, 0.1), (100_000, 0.5), (p99, 0.99), (p99 * 2, 1)], warning: nil)
    }

    /// single ≈ 100k, rr:2 ≈ 122.86k (a clear win), per-vq ≈ 101k (noise), 3 runs each.
    static func input(runs: [ReportRun]? = nil, cpus: Int = 16) -> ReportInput {
        let runs = runs ?? [
            run(1, "single", iops: 99_000), run(2, "rr:2", iops: 122_000), run(3, "per-vq", iops: 98_000),
            run(4, "single", iops: 100_000), run(5, "rr:2", iops: 123_000), run(6, "per-vq", iops: 104_000),
            run(7, "single", iops: 101_000), run(8, "rr:2", iops: 123_580), run(9, "per-vq", iops: 101_000),
        ]
        return ReportInput(title: "Which layout?", baseline: "single", layouts: ["single", "rr:2", "per-vq"], runs: runs, numQueues: 4,
                           timing: "afap", backend: "io_uring", target: "/tmp/disk.img", traceSummary: [("requests", "1000")],
                           host: [("CPUs", "\(cpus)")], onlineCPUs: cpus, largeRequestShare: 0.5)
    }
}

@Suite("Comparison reports")
struct ReportTests {
    @Test("statistics: mean, 95% interval with Student's t, Welch's test")
    func statistics() {
        let s = Summary([1, 2, 3, 4])
        #expect(s.mean == 2.5)
        #expect(abs(s.standardDeviation - 1.2909944) < 1e-6)
        #expect(abs(s.ci95 - 3.182 * 1.2909944 / 2) < 1e-6)
        #expect(Summary([5]).ci95 == 0)
        #expect(Summary([100, 101, 99]).differs(from: Summary([120, 121, 119])))
        #expect(!Summary([100, 110, 90]).differs(from: Summary([101, 111, 91])))
        #expect(!Summary([100]).differs(from: Summary([200])))  // one run: the noise is unknown
    }

    @Test("the difference of two means has Welch's 95% interval; equivalence needs the whole interval inside the margin")
    func meanDifference() throws {
        // Each side: variance 4, so 4/3 per mean; se² = 8/3, and Welch–Satterthwaite gives exactly 4
        // degrees of freedom, t = 2.776.
        let d = MeanDifference(Summary([20, 22, 24]), minus: Summary([10, 12, 14]))
        #expect(d.difference == 10)
        let halfWidth = try #require(d.halfWidth95)
        #expect(abs(halfWidth - 2.776 * (8.0 / 3).squareRoot()) < 1e-9)
        #expect(d.isSignificant)
        #expect(d.isWithin(10 + halfWidth) && !d.isWithin(10 + halfWidth - 0.01))
        #expect(MeanDifference(Summary([5]), minus: Summary([1, 2])).halfWidth95 == nil)
        // Beyond 20 degrees of freedom the table goes on (it used to jump to 2.05 and then 1.96).
        #expect(StudentT.twoSided95(degrees: 25) == 2.060 && StudentT.twoSided95(degrees: 45) == 2.021)
        #expect(StudentT.twoSided95(degrees: 1000) == 1.960 && StudentT.power80(degrees: 3) == 0.978)
    }

    @Test("the answer names the winner with the seed-style change; the recommendation is the winner")
    func winner() throws {
        let model = try ReportModel(ReportFixtures.input())
        #expect(model.answer.hasPrefix("`rr:2` wins: +22.86% IOPS over `single`"))
        #expect(model.outcome == .winner && model.verdict.winner == "rr:2")
        #expect(model.recommendation?.spec == "rr:2")
        let rr2 = try #require(model.results.first { $0.spec == "rr:2" })
        #expect(rr2.significant && abs(rr2.change! - (122_860.0 / 100_000 - 1)) < 1e-9)
        let perVQ = try #require(model.results.first { $0.spec == "per-vq" })
        #expect(!perVQ.significant)
        #expect(model.caveats.contains { $0.contains("large blocks gain less") })
    }

    @Test("a difference inside the noise is inconclusive and recommends nothing; one run each asks for 3 runs")
    func noWinner() throws {
        let noisy = ReportFixtures.input(runs: [
            ReportFixtures.run(1, "single", iops: 100_000), ReportFixtures.run(2, "rr:2", iops: 90_000),
            ReportFixtures.run(3, "single", iops: 120_000), ReportFixtures.run(4, "rr:2", iops: 140_000),
        ])
        let model = try ReportModel(noisy)
        #expect(model.answer.hasPrefix("Inconclusive: `rr:2` measured +4.55% IOPS against `single`"))
        #expect(model.outcome == .inconclusive && model.recommendation == nil)
        let once = try ReportModel(ReportFixtures.input(runs: [ReportFixtures.run(1, "single", iops: 100), ReportFixtures.run(2, "rr:2", iops: 150)]))
        #expect(once.answer.hasPrefix("Inconclusive: `rr:2` measured +50.00% IOPS against `single` in one run each"))
        #expect(once.verdict.repeatsSuggested == .runs(3) && once.answer.contains("--repeat 3"))
        #expect(once.recommendation == nil)
    }

    @Test("the HTML has every section, the tables carry the run values and changes, and the charts are inline SVG")
    func html() throws {
        let model = try ReportModel(ReportFixtures.input())
        let html = model.html()
        for section in ["<h2>Results</h2>", "<h2>Charts</h2>", "<h2>Recommended layout: rr:2</h2>", "<h2>Caveats</h2>", "<h2>Trace</h2>", "<h2>Host that measured</h2>"] {
            #expect(html.contains(section), "missing \(section)")
        }
        #expect(html.components(separatedBy: "<table class='metric'").count - 1 == 6)
        #expect(html.components(separatedBy: "<svg").count - 1 == 4)
        #expect(!html.contains("<script"))
        // The IOPS table: mean ± interval of the runs, and the change against single.
        let rr2 = Summary([122_000, 123_000, 123_580])
        #expect(html.contains("<td>rr:2</td><td>\(String(format: "%.0f", rr2.mean)) ± \(String(format: "%.0f", rr2.ci95))</td><td class=''>+22.86%</td>"))
        #expect(html.contains("(noise)"))
        #expect(html.contains("class='errorbar'"))
    }

    @Test("the QEMU and libvirt snippets pass the project's own validators; pinning is for the VM host, never this host's CPUs by default")
    func snippets() throws {
        // 16 CPUs on the host that measured: nothing of them may leak into the advice.
        let model = try ReportModel(ReportFixtures.input(cpus: 16))
        let recommendation = try #require(model.recommendation)
        let qemu = try QEMULayoutFormat.parse(recommendation.qemu, numQueues: 4)
        #expect(qemu.iothreads.map(\.id) == ["iothread1", "iothread2"])
        #expect(qemu.devices[0].assignment == ["iothread1", "iothread2", "iothread1", "iothread2"])
        #expect(recommendation.libvirt.contains("<iothreadpin iothread='1' cpuset='VM_HOST_CPU_1'/>"))
        #expect(recommendation.libvirt.contains("<iothreadpin iothread='2' cpuset='VM_HOST_CPU_2'/>"))
        #expect(!recommendation.libvirt.contains("cpuset='14'") && !recommendation.libvirt.contains("cpuset='15'"))
        #expect(!recommendation.pinning.contains("14") && !recommendation.pinning.contains("15") && !recommendation.qemu.contains("CPUs 1"))
        #expect(recommendation.pinning.hasPrefix("Pin each IOThread to its own CPU of the VM host, on the disk's NUMA node"))
        // With the placeholders filled in, libvirt's rules accept the XML.
        let filled = recommendation.libvirt.replacingOccurrences(of: "VM_HOST_CPU_1", with: "2").replacingOccurrences(of: "VM_HOST_CPU_2", with: "3")
        #expect(try LibvirtLayoutFormat.parse(filled, numQueues: 4).iothreads.map { $0.cpus?.cpus ?? [] } == [[2], [3]])
        #expect(model.markdown().contains("```xml\n" + recommendation.libvirt))
        #expect(model.html().contains("<h2>Host that measured</h2>"))
    }

    @Test("--vm-host-cpus fills in <iothreadpin> with the VM host's CPUs: one each, or in turn when there are fewer")
    func vmHostPinning() throws {
        var input = ReportFixtures.input(cpus: 16)
        input.vmHostCPUs = try CPUSet(parsing: "8-11")
        let recommendation = try #require(try ReportModel(input).recommendation)
        #expect(try LibvirtLayoutFormat.parse(recommendation.libvirt, numQueues: 4).iothreads.map { $0.cpus?.cpus ?? [] } == [[8], [9]])
        #expect(recommendation.qemu.contains("# pin iothread1 to CPUs 8 ") && recommendation.qemu.contains("# pin iothread2 to CPUs 9 "))
        #expect(recommendation.pinning.hasPrefix("Each IOThread is pinned to its own CPU of the VM host from --vm-host-cpus 8-11 (iothread1 → CPU 8, iothread2 → CPU 9)."))
        #expect(!recommendation.libvirt.contains("VM_HOST_CPU"))

        // per-vq (4 IOThreads) wins onto 2 given CPUs: they take turns.
        var few = ReportFixtures.input(runs: ReportVerdictTests.runs([("single", [100_000, 101_000, 99_000]), ("per-vq", [150_000, 151_000, 149_000])]), cpus: 16)
        few.layouts = ["single", "per-vq"]
        few.vmHostCPUs = try CPUSet(parsing: "6,7")
        let shared = try #require(try ReportModel(few).recommendation)
        #expect(shared.spec == "per-vq")
        #expect(try LibvirtLayoutFormat.parse(shared.libvirt, numQueues: 4).iothreads.map { $0.cpus?.cpus ?? [] } == [[6], [7], [6], [7]])
        #expect(shared.pinning.hasPrefix("The 4 IOThreads share the 2 CPUs of --vm-host-cpus 6-7 in turn"))
    }

    @Test("Markdown has the same table and JSON every number")
    func markdownAndJSON() throws {
        let model = try ReportModel(ReportFixtures.input())
        let md = model.markdown()
        #expect(md.contains("| layout | IOPS | MB/s | latency p50 | latency p99 | latency p99.9 | IOThread CPU % |"))
        #expect(md.contains("(+22.86%)"))
        let json = model.json()
        let layouts = try #require(json["layouts"] as? [[String: Any]])
        #expect(layouts.count == 3)
        #expect((layouts[1]["iops_per_run"] as? [Double]) == [122_000, 123_000, 123_580])
        #expect((layouts[1]["iops_change"] as? Double).map { abs($0 - 0.2286) < 1e-9 } == true)
    }

    @Test("headless Chromium renders the report: a non-blank screenshot, and the DOM holds the tables and SVG",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "needs Debian's chromium (make deps installs it)"))
    func chromium() throws {
        let scratch = ScratchDirectory()
        let dir = scratch.path
        try ReportModel(ReportFixtures.input()).html().write(toFile: dir + "/report.html", atomically: true, encoding: .utf8)
        try "<!DOCTYPE html><html><body></body></html>".write(toFile: dir + "/blank.html", atomically: true, encoding: .utf8)
        func chromium(_ arguments: [String]) throws -> String {
            try runChild("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir)/profile"] + arguments).text
        }
        _ = try chromium(["--screenshot=\(dir)/report.png", "--window-size=1000,2400", "file://\(dir)/report.html"])
        _ = try chromium(["--screenshot=\(dir)/blank.png", "--window-size=1000,2400", "file://\(dir)/blank.html"])
        let report = try #require(FileManager.default.contents(atPath: dir + "/report.png"))
        let blank = try #require(FileManager.default.contents(atPath: dir + "/blank.png"))
        #expect(report.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // A blank page compresses to almost nothing; text, tables and charts do not.
        #expect(report.count > blank.count * 10, "report \(report.count) bytes, blank \(blank.count)")
        let dom = try chromium(["--dump-dom", "file://\(dir)/report.html"])
        #expect(dom.contains("<table class=\"metric\"") && dom.contains("<svg") && dom.contains("<polyline"))
    }
}

@Suite("Reports over several VM counts")
struct ReportGroupTests {
    @Test("each VM count is compared with its own baseline; the answer is about the first count")
    func groups() throws {
        var runs: [ReportRun] = []
        var id: Int64 = 0
        for (spec, values) in [("single", [100.0, 101, 99]), ("rr:2", [130.0, 131, 129]), ("single ×8 VMs", [400.0, 402, 398]), ("rr:2 ×8 VMs", [404.0, 406, 402])] {
            for v in values {
                id += 1
                runs.append(ReportFixtures.run(id, spec, iops: v))
            }
        }
        var input = ReportFixtures.input(runs: runs)
        input.layouts = ["single", "rr:2", "single ×8 VMs", "rr:2 ×8 VMs"]
        let model = try ReportModel(input)
        #expect(abs(model.results[1].change! - 0.30) < 1e-9)
        #expect(abs(model.results[3].change! - 0.01) < 1e-9)
        #expect(model.results[2].change == nil)
        #expect(model.answer.hasPrefix("`rr:2` wins: +30.00% IOPS over `single`"))
        #expect(model.recommendation?.spec == "rr:2")
        #expect(model.html().contains("<td>rr:2 ×8 VMs</td>"))
    }
}
