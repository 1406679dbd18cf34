import Foundation
import Trace

/// Copies one catalog into another (`vqtrace catalog migrate`): a host's local SQLite catalog
/// into a fleet's shared PostgreSQL one. Traces, sweeps and runs get new ids in the target
/// (its sequences hand them out, so hosts migrating at once never collide) and keep every
/// column, their host included; references between them follow the new ids. Each sweep with its
/// runs, and each trace with its chunks, goes in one transaction. With `withTraces`, the bytes of
/// each trace whose file is still on this host are pushed too, so that other hosts can replay it.
public enum CatalogCopy {
    /// What a copy did.
    public struct Report: Sendable {
        public var traces = 0
        public var tracesPushed = 0
        public var sweeps = 0
        public var runs = 0
        public var skipped: [String] = []

        public var lines: [String] {
            skipped.map { "skipped \($0)" }
                + ["copied \(traces) traces (\(tracesPushed) with their bytes), \(sweeps) sweeps and \(runs) runs"]
        }
    }

    /// Copies everything in `source` into `target`. `relabel` renames the rows of `source`'s
    /// own host (a local catalog's rows carry the hostname) to a `--host-label`.
    public static func copy(from source: any CatalogStore, to target: any CatalogStore, withTraces: Bool, relabel: String? = nil,
                            progress: (String) -> Void = { _ in }) throws -> Report {
        var report = Report()
        func host(_ value: CatalogValue) -> CatalogValue {
            guard let relabel, case .text(let name) = value, name == source.host.hostname || name == source.host.name else { return value }
            return .text(relabel)
        }
        let traceColumns = CatalogSchema.traceColumnsV2.filter { $0 != "id" } + ["host", "hostCPUModel", "hostCPUs", "hostKernel", "targetModel"]
        var traceIds: [Int64: Int64] = [:]
        for trace in try source.traces() {
            let row = try source.read { db in try db.first("SELECT \(traceColumns.joined(separator: ", ")), trailerBytes IS NOT NULL AS pushed FROM trace WHERE id = ?", [trace.id])! }
            // SQLite keeps a boolean as 0 or 1; PostgreSQL's column is boolean.
            let values = traceColumns.map { $0 == "host" ? host(row[$0]) : $0 == "complete" ? .boolean(row.bool($0)) : row[$0] }
            let devices = try source.read { db in try db.query("SELECT * FROM traceDevice WHERE traceId = ? ORDER BY device", [trace.id]) }
            let chunks = try source.read { db in
                try db.query("SELECT chunkIndex, \"offset\", length, firstSubmitNs, lastSubmitNs, records, queueSet FROM traceChunk WHERE traceId = ? ORDER BY chunkIndex", [trace.id])
            }
            let newId = try target.write { db -> Int64? in
                if case .text(let h) = values[traceColumns.firstIndex(of: "host")!],
                   try db.first("SELECT id FROM trace WHERE host = ? AND path = ?", [h, trace.path]) != nil {
                    return nil
                }
                let id = try db.insert("INSERT INTO trace (\(traceColumns.joined(separator: ", "))) VALUES (\(traceColumns.map { _ in "?" }.joined(separator: ", ")))",
                                       values.map { $0 as any CatalogBindable })
                try db.insertMany("traceDevice", ["traceId", "device", "name", "capacitySectors", "logicalBlockSize", "numQueues", "queueSize"], devices.map { d in
                    [.integer(id)] + ["device", "name", "capacitySectors", "logicalBlockSize", "numQueues", "queueSize"].map { d[$0] }
                })
                try db.insertMany("traceChunk", ["traceId", "chunkIndex", "\"offset\"", "length", "firstSubmitNs", "lastSubmitNs", "records", "queueSet"], chunks.map { c in
                    [.integer(id)] + ["chunkIndex", "offset", "length", "firstSubmitNs", "lastSubmitNs", "records", "queueSet"].map { c[$0] }
                })
                return id
            }
            guard let newId else {
                report.skipped.append("trace \(trace.id) (\(trace.name)): the target already has \(trace.host):\(trace.path)")
                continue
            }
            traceIds[trace.id] = newId
            report.traces += 1
            if withTraces {
                if FileManager.default.fileExists(atPath: trace.path), (try? TraceReader(path: trace.path).fingerprint) == trace.fingerprint {
                    _ = try target.storeBytes(of: TraceReader(path: trace.path), onTrace: newId)
                    report.tracesPushed += 1
                } else {
                    report.skipped.append("the bytes of trace \(trace.id) (\(trace.name)): \(trace.path) is not here or is another file now")
                }
            }
            progress("trace \(trace.id) (\(trace.name)) → \(newId)")
        }
        let sweepRows = try source.read { db in try db.query("SELECT * FROM sweep ORDER BY id") }
        let runColumns = ["tracePath", "layoutSpec", "layoutJSON", "backend", "timing", "speed", "windowFromNs", "windowToNs", "vms", "target",
                          "hostJSON", "startedAt", "endedAt", "warning", "summaryJSON", "traceFingerprint", "host", "hostCPUModel", "hostCPUs",
                          "hostKernel", "targetModel"]
        func mapped(_ value: CatalogValue, _ ids: [Int64: Int64]) -> CatalogValue {
            guard case .integer(let old) = value else { return .null }
            return ids[old].map { .integer($0) } ?? .null
        }
        // Runs without a sweep travel as a group of their own (sweep id nil).
        for sweep in sweepRows.map(Optional.some) + [nil] {
            let runs = try source.read { db in
                try sweep.map { try db.query("SELECT * FROM run WHERE sweepId = ? ORDER BY id", [$0.int64("id")]) }
                    ?? db.query("SELECT * FROM run WHERE sweepId IS NULL ORDER BY id")
            }
            let results = try runs.map { run -> (iothreads: [CatalogRow], queues: [CatalogRow], timeline: [CatalogRow]) in
                let id = run.int64("id")
                return try source.read { db in
                    (try db.query("SELECT * FROM runIOThread WHERE runId = ?", [id]), try db.query("SELECT * FROM runQueue WHERE runId = ?", [id]),
                     try db.query("SELECT * FROM runTimeline WHERE runId = ?", [id]))
                }
            }
            // A group copied before (the same host, start and layout of its first run) is not copied twice.
            if let first = runs.first, try target.read({ db in
                try db.first("SELECT id FROM run WHERE host = ? AND startedAt = ? AND layoutSpec = ? AND tracePath = ?",
                             [host(first["host"]), first["startedAt"], first["layoutSpec"], first["tracePath"]])
            }) != nil {
                report.skipped.append(sweep.map { "sweep \($0.int64("id")): copied before" } ?? "\(runs.count) runs without a sweep: copied before")
                continue
            }
            try target.write { db in
                var newSweep: CatalogValue = .null
                if let sweep {
                    newSweep = .integer(try db.insert("INSERT INTO sweep (traceId, createdAt, parametersJSON, host, traceFingerprint) VALUES (?, ?, ?, ?, ?)",
                                                      [mapped(sweep["traceId"], traceIds), sweep["createdAt"], sweep["parametersJSON"], host(sweep["host"]), sweep["traceFingerprint"]]))
                }
                for (run, result) in zip(runs, results) {
                    let values: [any CatalogBindable] = [mapped(run["traceId"], traceIds), newSweep] + runColumns.map { $0 == "host" ? host(run[$0]) : run[$0] }
                    let id = try db.insert("INSERT INTO run (traceId, sweepId, \(runColumns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))", values)
                    try db.insertMany("runIOThread", ["runId", "iothread", "requests", "passes", "kicks", "notifications", "cpuPercent"], result.iothreads.map { r in
                        [.integer(id)] + ["iothread", "requests", "passes", "kicks", "notifications", "cpuPercent"].map { r[$0] }
                    })
                    try db.insertMany("runQueue", ["runId", "device", "vq", "requests", "bytes", "latencyHistogram"], result.queues.map { r in
                        [.integer(id)] + ["device", "vq", "requests", "bytes", "latencyHistogram"].map { r[$0] }
                    })
                    try db.insertMany("runTimeline", ["runId", "bucket", "requests", "bytes"], result.timeline.map { r in
                        [.integer(id)] + ["bucket", "requests", "bytes"].map { r[$0] }
                    })
                }
            }
            if sweep != nil { report.sweeps += 1 }
            report.runs += runs.count
        }
        return report
    }
}
