import Foundation
import GRDB

/// A stored replay run, every column typed: absent values are nil, not "NULL".
public struct CatalogRun: Sendable, Equatable {
    public var id: Int64
    /// The catalogued trace it replayed, while that row exists.
    public var traceId: Int64?
    /// The file it replayed (kept when the trace row goes).
    public var tracePath: String
    /// `TraceReader.fingerprint` of that file when it was replayed (nil for older runs).
    public var traceFingerprint: String?
    public var sweepId: Int64?
    public var layoutSpec: String
    /// The resolved layout as JSON (IOThreads and each device's assignment).
    public var layoutJSON: String
    public var backend: String
    public var timing: String
    public var speed: Double
    public var windowFromNs: Int64?
    public var windowToNs: Int64?
    public var vms: Int
    public var target: String
    /// `TraceMetadata.Host` of the machine that ran it, as JSON.
    public var hostJSON: String
    public var startedAt: String
    public var endedAt: String?
    public var warning: String?
    /// The run's figures as JSON; nil for a run that started and never finished.
    public var summaryJSON: String?

    /// Whether the run stored its results.
    public var isFinished: Bool { summaryJSON != nil }

    init(row: Row) {
        id = row["id"]
        traceId = row["traceId"]
        tracePath = row["tracePath"]
        traceFingerprint = row["traceFingerprint"]
        sweepId = row["sweepId"]
        layoutSpec = row["layoutSpec"]
        layoutJSON = row["layoutJSON"]
        backend = row["backend"]
        timing = row["timing"]
        speed = row["speed"]
        windowFromNs = row["windowFromNs"]
        windowToNs = row["windowToNs"]
        vms = row["vms"]
        target = row["target"]
        hostJSON = row["hostJSON"]
        startedAt = row["startedAt"]
        endedAt = row["endedAt"]
        warning = row["warning"]
        summaryJSON = row["summaryJSON"]
    }
}

/// A stored sweep: the runs it made are the runs with its id.
public struct CatalogSweep: Sendable, Equatable {
    public var id: Int64
    public var traceId: Int64?
    public var createdAt: String
    /// What it set out to run (layouts, repeats, VM counts, options), as JSON.
    public var parametersJSON: String
}

extension TraceCatalog {
    /// The run with `id`, or nil.
    public func run(id: Int64) throws -> CatalogRun? {
        try database.read { db in try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id]).map(CatalogRun.init(row:)) }
    }

    /// The runs with these ids, in the order given; throws naming the first id that has no run.
    public func runs(ids: [Int64]) throws -> [CatalogRun] {
        try ids.map { id in
            guard let run = try run(id: id) else { throw CatalogError.database("no run \(id) in \(path)") }
            return run
        }
    }

    /// Every run of sweep `sweepId`, finished or not, in the order they were made.
    public func runs(sweepId: Int64) throws -> [CatalogRun] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM run WHERE sweepId = ? ORDER BY id", arguments: [sweepId]).map(CatalogRun.init(row:))
        }
    }

    /// The sweep with `id`, or nil.
    public func sweep(id: Int64) throws -> CatalogSweep? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sweep WHERE id = ?", arguments: [id]).map {
                CatalogSweep(id: $0["id"], traceId: $0["traceId"], createdAt: $0["createdAt"], parametersJSON: $0["parametersJSON"])
            }
        }
    }

    /// A run's IOThreads, by name.
    public func iothreads(ofRun id: Int64) throws -> [RunIOThreadRow] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runIOThread WHERE runId = ? ORDER BY iothread", arguments: [id]).map {
                RunIOThreadRow(name: $0["iothread"], requests: $0["requests"], passes: $0["passes"], kicks: $0["kicks"],
                               notifications: $0["notifications"], cpuPercent: $0["cpuPercent"] ?? 0)
            }
        }
    }

    /// A run's vqs of every device, by device and vq.
    public func queues(ofRun id: Int64) throws -> [RunQueueRow] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runQueue WHERE runId = ? ORDER BY device, vq", arguments: [id]).map {
                RunQueueRow(device: $0["device"], vq: $0["vq"], requests: $0["requests"], bytes: $0["bytes"],
                            latencyHistogram: ($0["latencyHistogram"] as Data?) ?? Data())
            }
        }
    }

    /// A run's completions per 100 ms bucket, from its first.
    public func timeline(ofRun id: Int64) throws -> [UInt64] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT requests FROM runTimeline WHERE runId = ? ORDER BY bucket", arguments: [id]).map {
                UInt64(max(0, $0["requests"] as Int64))
            }
        }
    }
}
