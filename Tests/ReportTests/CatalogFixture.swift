import Catalog
import Foundation
import TestSupport
import Trace

/// A real catalog and trace file for `vqtrace report` to read: a sweep row with its plan, and run
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
        let summary: [String: Any] = ["iops": iops, "seconds": 1.0, "read": ["io_bytes": iops * 4096], "write": ["io_bytes": 0]]
        try catalog.finishRun(id, warning: nil, summaryJSON: String(decoding: try JSONSerialization.data(withJSONObject: summary), as: UTF8.self),
                              iothreads: [RunIOThreadRow(name: "iothread1", requests: Int64(iops), passes: 1, kicks: 1, notifications: 1, cpuPercent: 50)],
                              queues: [], timeline: [UInt64(iops / 10)], windowFromNs: nil, windowToNs: nil, vms: 1)
        return id
    }

    /// `vqtrace report ARGUMENTS --catalog …`: its exit status and standard output (errors merged).
    func report(_ arguments: [String]) throws -> ChildResult {
        try runChild(vqtraceExecutable(), ["report"] + arguments + ["--catalog", catalogPath], in: scratch.path, mergingStandardError: true)
    }

    /// `vqtrace report … --format json`, parsed.
    func reportJSON(_ arguments: [String]) throws -> [String: Any] {
        let result = try report(arguments + ["--format", "json"])
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: result.output) as? [String: Any] else {
            throw FixtureError("vqtrace report failed (\(result.status)): \(result.text)")
        }
        return object
    }
}

/// A fixture step that did not work, with what the tool said.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
