import Catalog
import Foundation
import Report
import Runs
import Testing
import TestSupport
import Trace

/// The cross-host report from sweeps of several hosts in one catalog: one table per metric with
/// hosts × layouts, and an answer that says whether the winner holds everywhere or who differs.
@Suite("Fleet report")
struct FleetReportTests {
    /// A catalog file with one sweep per host: `iops[host][layout]` runs (three each, ±0.5%).
    static func catalog(_ dir: ScratchDirectory, _ iops: [(host: String, layouts: [(String, Double)])]) throws -> (TraceCatalog, [Int64]) {
        var sweeps: [Int64] = []
        for (host, layouts) in iops {
            let store = try TraceCatalog(path: dir.file("fleet.sqlite"), host: .current(label: host))
            let plan = "{\"layouts\":[\(layouts.map { "\"\($0.0)\"" }.joined(separator: ","))],\"repeat\":3}"
            let sweep = try store.createSweep(traceId: nil, parametersJSON: plan, traceFingerprint: "same-trace")
            sweeps.append(sweep)
            for round in 0..<3 {
                for (layout, value) in layouts {
                    let v = value * (1 + 0.005 * Double(round - 1))
                    let summary = RunSummary(seconds: 1, read: FioDirection(ios: UInt64(v), ioBytes: UInt64(v) * 4096, seconds: 1),
                                             write: FioDirection(ios: 0, ioBytes: 0, seconds: 1))
                    _ = try store.storeRun(
                        NewRun(traceId: nil, tracePath: "/gone.vqt", layoutSpec: layout, layoutJSON: "{}", backend: "io_uring", timing: "afap",
                               target: "/dev/nvme0n1", hostJSON: "{\"hostname\":\"\(host)\",\"kernel\":\"6.1\",\"cpuModel\":\"Test CPU\",\"onlineCPUs\":32}",
                               sweepId: sweep, traceFingerprint: "same-trace"),
                        RunResults(warning: nil, summaryJSON: try summary.encoded(),
                                   iothreads: [RunIOThreadRow(name: "iothread0", requests: 1, passes: 1, kicks: 1, notifications: 1, cpuPercent: 40)],
                                   queues: [], timeline: [UInt64(v / 10)], windowFromNs: nil, windowToNs: nil, vms: 1))
                }
            }
        }
        return (try TraceCatalog(path: dir.file("fleet.sqlite"), host: .current(label: "reader")), sweeps)
    }

    @Test("a winner on every host is said once, with each host's gain; the tables have a row per host and a column per layout")
    func holdsEverywhere() throws {
        let dir = ScratchDirectory()
        let (catalog, _) = try Self.catalog(dir, [("a", [("single", 100_000), ("rr:2", 150_000)]), ("b", [("single", 90_000), ("rr:2", 140_000)])])
        let report = try FleetReportLoader.load(hosts: ["a", "b"], catalog: catalog, baseline: nil)
        #expect(report.holdsOnEveryHost && report.choice == "rr:2" && report.differing.isEmpty)
        #expect(report.answer.hasPrefix("rr:2 wins on every host (a +50.00%, b +55.56%"), "\(report.answer)")
        #expect(report.layouts == ["single", "rr:2"] && report.tables.count == 6 && report.tables.allSatisfy { $0.cells.count == 2 })
        let markdown = report.markdown()
        #expect(markdown.contains("## IOPS") && markdown.contains("| a | 100000 ± ") && markdown.contains("| b | 90000 ± "), "\(markdown)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try report.jsonText().utf8)) as? [String: Any])
        #expect(json["holds_on_every_host"] as? Bool == true && json["choice"] as? String == "rr:2")
        #expect(report.html().contains("<h2>latency p99</h2>"))
    }

    @Test("a host where another layout wins is named, with what wins there")
    func hostDiffers() throws {
        let dir = ScratchDirectory()
        let (catalog, sweeps) = try Self.catalog(dir, [
            ("a", [("single", 100_000), ("rr:2", 150_000)]), ("b", [("single", 100_000), ("rr:2", 148_000)]),
            ("c", [("single", 120_000), ("rr:2", 80_000)]),
        ])
        let report = try FleetReportLoader.load(sweepIds: sweeps, catalog: catalog, baseline: nil)
        #expect(!report.holdsOnEveryHost && report.choice == "rr:2")
        #expect(report.differing.map(\.host) == ["c"])
        #expect(report.answer.contains("rr:2 wins on a +50.00%, b +48.00%, but not everywhere: on c single wins there"), "\(report.answer)")
        #expect(report.html().contains("class=\"differs\""))
        // One sweep per host, and one trace.
        #expect(throws: (any Error).self) { try FleetReportLoader.load(sweepIds: [sweeps[0], sweeps[0]], catalog: catalog, baseline: nil) }
        #expect(throws: (any Error).self) { try FleetReportLoader.load(hosts: ["a", "nobody"], catalog: catalog, baseline: nil) }
    }
}
