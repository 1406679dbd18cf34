import Catalog
import Foundation
import Layout
import Report
import Runs
import TestSupport
import Trace

/// A real catalog and trace file for the report loader to read: a sweep row with its plan, and run
/// rows, finished or left unfinished the way an interrupted sweep leaves them.
final class CatalogFixture {
    let scratch = ScratchDirectory()
    let catalog: TraceCatalog
    let tracePath: String
    var catalogPath: String { catalog.path }

    /// A catalog beside a small trace of one device of `capacityBytes` with `numQueues` vqs.
    init(capacityBytes: UInt64, numQueues: UInt16 = 4) throws {
        tracePath = scratch.file("t.vqt")
        let metadata = TraceMetadata(devices: [.init(capacitySectors: capacityBytes / 512, numQueues: numQueues)],
                                     source: .init(kind: "synthetic", name: "fixture"))
        let writer = try TraceWriter(path: tracePath, metadata: metadata)
        for i in 0..<64 {
            try writer.append(TraceRecord(vq: UInt16(i % Int(numQueues)), type: .read, sector: UInt64(i) * 8, length: 4096,
                                          submitNs: UInt64(i) * 1000, completionNs: UInt64(i) * 1000 + 500))
        }
        try writer.finish()
        catalog = try TraceCatalog(path: scratch.file("catalog.sqlite"))
    }

    /// A sweep row with the plan `vqtrace sweep` stores; returns its id.
    func sweep(layouts: [String], repeats: Int, vms: [Int] = [1]) throws -> Int64 {
        let plan: [String: Any] = ["layouts": layouts, "repeat": repeats, "vms": vms, "backend": "io_uring", "timing": "afap", "qd": 32,
                                   "target": scratch.file("disk.img")]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: plan, options: [.sortedKeys]), as: UTF8.self)
        return try catalog.createSweep(traceId: nil, parametersJSON: json)
    }

    /// A run row; finished (with an IOPS summary) unless `iops` is nil, which leaves it as a run
    /// that started and never ended. Returns its id.
    @discardableResult
    func run(_ layout: String, iops: Double?, sweepId: Int64? = nil, target: String? = nil) throws -> Int64 {
        let host = TraceMetadata.Host(hostname: "bench", kernel: "6.1", cpuModel: "Test CPU", onlineCPUs: 16)
        let id = try catalog.insertRun(NewRun(traceId: nil, tracePath: tracePath, layoutSpec: layout, layoutJSON: "{}", backend: "io_uring",
                                              timing: "afap", target: target ?? scratch.file("disk.img"),
                                              hostJSON: String(decoding: try JSONEncoder().encode(host), as: UTF8.self), sweepId: sweepId))
        guard let iops else { return id }
        let summary = RunSummary(seconds: 1, read: FioDirection(ios: UInt64(iops), ioBytes: UInt64(iops) * 4096, seconds: 1),
                                 write: FioDirection(ios: 0, ioBytes: 0, seconds: 1))
        try catalog.finishRun(id, warning: nil, summaryJSON: try summary.encoded(),
                              iothreads: [RunIOThreadRow(name: "iothread1", requests: Int64(iops), passes: 1, kicks: 1, notifications: 1, cpuPercent: 50)],
                              queues: [], timeline: [UInt64(iops / 10)], windowFromNs: nil, windowToNs: nil, vms: 1)
        return id
    }

    /// What `vqtrace report ARGUMENTS` prints, made in this process by the library calls the
    /// command makes (`ReportLoader`, `ReportModel`): status 0 and the report, or 1 and the error.
    func report(_ arguments: [String]) -> ChildResult {
        func value(_ name: String) -> String? { arguments.firstIndex(of: name).map { arguments[$0 + 1] } }
        do {
            let input: ReportInput
            if let sweep = value("--sweep").flatMap({ Int64($0) }) {
                input = try ReportLoader.load(sweepId: sweep, catalog: catalog, title: "IOThread layout comparison", baseline: nil)
            } else {
                let ids = (value("--runs") ?? "").split(separator: ",").compactMap { Int64($0) }
                input = try ReportLoader.load(runIds: ids, catalog: catalog, title: "IOThread layout comparison", baseline: nil)
            }
            var withHost = input
            if let cpus = value("--vm-host-cpus") {
                do { withHost.vmHostCPUs = try CPUSet(parsing: cpus) } catch { throw FixtureError("--vm-host-cpus: \(error)") }
            }
            let model = try ReportModel(withHost)
            let text: String
            switch value("--format") ?? "html" {
            case "md": text = model.markdown()
            case "json": text = try model.jsonText()
            default: text = model.html()
            }
            return ChildResult(status: 0, output: Data(text.utf8))
        } catch {
            return ChildResult(status: 1, output: Data("Error: \(error)".utf8))
        }
    }

    /// The report as JSON, parsed.
    func reportJSON(_ arguments: [String]) throws -> [String: Any] {
        let result = report(arguments + ["--format", "json"])
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: result.output) as? [String: Any] else {
            throw FixtureError("the report failed (\(result.status)): \(result.text)")
        }
        return object
    }
}

/// A fixture step that did not work, with what the tool said.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
