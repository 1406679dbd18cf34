import Foundation

/// A stored replay run, every column typed: absent values are nil, not "NULL".
public struct CatalogRun: Sendable, Equatable {
    public var id: Int64
    /// The catalogued trace it replayed, while that row exists.
    public var traceId: Int64?
    /// The file it replayed (kept when the trace row goes), or the catalog it read the trace from.
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
    /// The host it ran on (its `--host-label` or hostname), and the model of the target's disk.
    public var host: String
    public var targetModel: String?
    public var startedAt: String
    public var endedAt: String?
    public var warning: String?
    /// The run's figures as JSON; nil for a run that started and never finished.
    public var summaryJSON: String?

    /// Whether the run stored its results.
    public var isFinished: Bool { summaryJSON != nil }

    init(row: CatalogRow) {
        id = row.int64("id")
        traceId = row.optionalInt64("traceId")
        tracePath = row.string("tracePath")
        traceFingerprint = row.optionalString("traceFingerprint")
        sweepId = row.optionalInt64("sweepId")
        layoutSpec = row.string("layoutSpec")
        layoutJSON = row.string("layoutJSON")
        backend = row.string("backend")
        timing = row.string("timing")
        speed = row.double("speed")
        windowFromNs = row.optionalInt64("windowFromNs")
        windowToNs = row.optionalInt64("windowToNs")
        vms = row.optionalInt64("vms").map(Int.init) ?? 1
        target = row.string("target")
        hostJSON = row.string("hostJSON")
        host = row.string("host")
        targetModel = row.optionalString("targetModel")
        startedAt = row.string("startedAt")
        endedAt = row.optionalString("endedAt")
        warning = row.optionalString("warning")
        summaryJSON = row.optionalString("summaryJSON")
    }
}

/// A stored sweep: the runs it made are the runs with its id.
public struct CatalogSweep: Sendable, Equatable {
    public var id: Int64
    public var traceId: Int64?
    public var createdAt: String
    /// What it set out to run (layouts, repeats, VM counts, options), as JSON.
    public var parametersJSON: String
    /// The host that ran it, and the fingerprint of the trace it replayed (nil for older sweeps).
    public var host: String
    public var traceFingerprint: String?

    init(row: CatalogRow) {
        id = row.int64("id")
        traceId = row.optionalInt64("traceId")
        createdAt = row.string("createdAt")
        parametersJSON = row.string("parametersJSON")
        host = row.string("host")
        traceFingerprint = row.optionalString("traceFingerprint")
    }
}

/// The fields a replay run starts with (results are added as the run ends).
public struct NewRun: Sendable {
    public var traceId: Int64?
    public var tracePath: String
    public var layoutSpec: String
    public var layoutJSON: String
    public var backend: String
    public var timing: String
    public var speed: Double
    public var target: String
    public var hostJSON: String
    public var startedAt: String
    public var sweepId: Int64?
    /// The replayed file's `TraceReader.fingerprint`.
    public var traceFingerprint: String?
    /// The model of the target's disk (`CatalogHost.deviceModel(of:)`); nil when not known.
    public var targetModel: String?

    public init(traceId: Int64?, tracePath: String, layoutSpec: String, layoutJSON: String, backend: String, timing: String,
                speed: Double = 1, target: String, hostJSON: String, startedAt: String = ISO8601DateFormatter().string(from: Date()),
                sweepId: Int64? = nil, traceFingerprint: String? = nil, targetModel: String? = nil) {
        self.sweepId = sweepId
        self.traceFingerprint = traceFingerprint
        self.traceId = traceId
        self.tracePath = tracePath
        self.layoutSpec = layoutSpec
        self.layoutJSON = layoutJSON
        self.backend = backend
        self.timing = timing
        self.speed = speed
        self.target = target
        self.hostJSON = hostJSON
        self.startedAt = startedAt
        self.targetModel = targetModel
    }
}

/// One IOThread's counters as a run stores them.
public struct RunIOThreadRow: Sendable, Equatable {
    public var name: String
    public var requests: Int64
    public var passes: Int64
    public var kicks: Int64
    public var notifications: Int64
    public var cpuPercent: Double
    public init(name: String, requests: Int64, passes: Int64, kicks: Int64, notifications: Int64, cpuPercent: Double) {
        self.name = name
        self.requests = requests
        self.passes = passes
        self.kicks = kicks
        self.notifications = notifications
        self.cpuPercent = cpuPercent
    }
}

/// One vq's totals and its latency histogram (serialized by the caller) as a run stores them.
public struct RunQueueRow: Sendable, Equatable {
    public var device: Int
    public var vq: Int
    public var requests: Int64
    public var bytes: Int64
    public var latencyHistogram: Data
    public init(device: Int, vq: Int, requests: Int64, bytes: Int64, latencyHistogram: Data) {
        self.device = device
        self.vq = vq
        self.requests = requests
        self.bytes = bytes
        self.latencyHistogram = latencyHistogram
    }
}

/// What a finished run stores beside its start: summary, warning, IOThreads, vqs, timeline.
public struct RunResults: Sendable {
    public var endedAt: String
    public var warning: String?
    public var summaryJSON: String
    public var iothreads: [RunIOThreadRow]
    public var queues: [RunQueueRow]
    /// Completions per 100 ms bucket, from the first.
    public var timeline: [UInt64]
    public var windowFromNs: Int64?
    public var windowToNs: Int64?
    public var vms: Int

    public init(endedAt: String = ISO8601DateFormatter().string(from: Date()), warning: String?, summaryJSON: String,
                iothreads: [RunIOThreadRow], queues: [RunQueueRow], timeline: [UInt64], windowFromNs: Int64?, windowToNs: Int64?, vms: Int) {
        self.endedAt = endedAt
        self.warning = warning
        self.summaryJSON = summaryJSON
        self.iothreads = iothreads
        self.queues = queues
        self.timeline = timeline
        self.windowFromNs = windowFromNs
        self.windowToNs = windowToNs
        self.vms = vms
    }
}

extension CatalogStore {
    /// Starts a sweep (a set of runs compared in one report) by this host and returns its id.
    public func createSweep(traceId: Int64?, parametersJSON: String, traceFingerprint: String? = nil) throws -> Int64 {
        let host = self.host.name
        return try write { db in
            try db.insert("INSERT INTO sweep (traceId, createdAt, parametersJSON, host, traceFingerprint) VALUES (?, ?, ?, ?, ?)",
                          [traceId, ISO8601DateFormatter().string(from: Date()), parametersJSON, host, traceFingerprint])
        }
    }

    /// Stores the start of a replay run (this host's) and returns its id. A run stored this way
    /// and never finished is what a report lists as unfinished; `storeRun` stores a finished
    /// run whole instead.
    public func insertRun(_ run: NewRun) throws -> Int64 {
        try write { db in try insertRun(run, db) }
    }

    func insertRun(_ run: NewRun, _ db: any CatalogSQL) throws -> Int64 {
        let host = self.host
        return try db.insert(
            "INSERT INTO run (traceId, tracePath, layoutSpec, layoutJSON, backend, timing, speed, target, hostJSON, startedAt, sweepId, traceFingerprint, host, hostCPUModel, hostCPUs, hostKernel, targetModel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run.traceId, run.tracePath, run.layoutSpec, run.layoutJSON, run.backend, run.timing, run.speed, run.target, run.hostJSON,
             run.startedAt, run.sweepId, run.traceFingerprint, host.name, host.cpuModel, host.cpus, host.kernel, run.targetModel])
    }

    /// Stores a run's end: its summary (JSON), warning, per-IOThread and per-vq rows, and the
    /// completions per 100 ms bucket. One transaction: a run is stored whole or not at all.
    public func finishRun(_ id: Int64, endedAt: String = ISO8601DateFormatter().string(from: Date()), warning: String?, summaryJSON: String,
                          iothreads: [RunIOThreadRow], queues: [RunQueueRow], timeline: [UInt64], windowFromNs: Int64?, windowToNs: Int64?, vms: Int) throws {
        let results = RunResults(endedAt: endedAt, warning: warning, summaryJSON: summaryJSON, iothreads: iothreads, queues: queues,
                                 timeline: timeline, windowFromNs: windowFromNs, windowToNs: windowToNs, vms: vms)
        try write { db in try finishRun(id, results, db) }
    }

    func finishRun(_ id: Int64, _ r: RunResults, _ db: any CatalogSQL) throws {
        try db.execute("UPDATE run SET endedAt = ?, warning = ?, summaryJSON = ?, windowFromNs = ?, windowToNs = ?, vms = ? WHERE id = ?",
                       [r.endedAt, r.warning, r.summaryJSON, r.windowFromNs, r.windowToNs, r.vms, id])
        try db.insertMany("runIOThread", ["runId", "iothread", "requests", "passes", "kicks", "notifications", "cpuPercent"], r.iothreads.map {
            [.integer(id), .text($0.name), .integer($0.requests), .integer($0.passes), .integer($0.kicks), .integer($0.notifications), .real($0.cpuPercent)]
        })
        try db.insertMany("runQueue", ["runId", "device", "vq", "requests", "bytes", "latencyHistogram"], r.queues.map {
            [.integer(id), .integer(Int64($0.device)), .integer(Int64($0.vq)), .integer($0.requests), .integer($0.bytes), .blob($0.latencyHistogram)]
        })
        try db.insertMany("runTimeline", ["runId", "bucket", "requests", "bytes"], r.timeline.enumerated().map {
            [.integer(id), .integer(Int64($0.offset)), .integer(Int64(clamping: $0.element)), .integer(0)]
        })
    }

    /// Stores a finished run, its row and all its results, in one transaction, and returns its
    /// id: a host that dies while storing leaves nothing of the run, never half of it.
    public func storeRun(_ run: NewRun, _ results: RunResults) throws -> Int64 {
        try write { db in
            let id = try insertRun(run, db)
            try finishRun(id, results, db)
            return id
        }
    }

    /// The latency histogram blobs of a run's queues.
    public func queueHistograms(runId: Int64) throws -> [Data] {
        try read { db in
            try db.query("SELECT latencyHistogram FROM runQueue WHERE runId = ? ORDER BY device, vq", [runId]).compactMap { $0.data("latencyHistogram") }
        }
    }

    /// The run with `id`, or nil.
    public func run(id: Int64) throws -> CatalogRun? {
        try read { db in try db.first("SELECT * FROM run WHERE id = ?", [id]).map(CatalogRun.init(row:)) }
    }

    /// The runs with these ids, in the order given; throws naming the first id that has no run.
    public func runs(ids: [Int64]) throws -> [CatalogRun] {
        try ids.map { id in
            guard let run = try run(id: id) else { throw CatalogError.database("no run \(id) in \(location)") }
            return run
        }
    }

    /// Every run of sweep `sweepId`, finished or not, in the order they were made.
    public func runs(sweepId: Int64) throws -> [CatalogRun] {
        try read { db in try db.query("SELECT * FROM run WHERE sweepId = ? ORDER BY id", [sweepId]).map(CatalogRun.init(row:)) }
    }

    /// The sweep with `id`, or nil.
    public func sweep(id: Int64) throws -> CatalogSweep? {
        try read { db in try db.first("SELECT * FROM sweep WHERE id = ?", [id]).map(CatalogSweep.init(row:)) }
    }

    /// Every sweep, of every host, oldest first.
    public func sweeps() throws -> [CatalogSweep] {
        try read { db in try db.query("SELECT * FROM sweep ORDER BY id", []).map(CatalogSweep.init(row:)) }
    }

    /// Every sweep of `host`, newest first.
    public func sweeps(host: String) throws -> [CatalogSweep] {
        try read { db in try db.query("SELECT * FROM sweep WHERE host = ? ORDER BY id DESC", [host]).map(CatalogSweep.init(row:)) }
    }

    /// A run's IOThreads, by name.
    public func iothreads(ofRun id: Int64) throws -> [RunIOThreadRow] {
        try read { db in
            try db.query("SELECT * FROM runIOThread WHERE runId = ? ORDER BY iothread", [id]).map {
                RunIOThreadRow(name: $0.string("iothread"), requests: $0.int64("requests"), passes: $0.int64("passes"), kicks: $0.int64("kicks"),
                               notifications: $0.int64("notifications"), cpuPercent: $0.double("cpuPercent"))
            }
        }
    }

    /// A run's vqs of every device, by device and vq.
    public func queues(ofRun id: Int64) throws -> [RunQueueRow] {
        try read { db in
            try db.query("SELECT * FROM runQueue WHERE runId = ? ORDER BY device, vq", [id]).map {
                RunQueueRow(device: $0.int("device"), vq: $0.int("vq"), requests: $0.int64("requests"), bytes: $0.int64("bytes"),
                            latencyHistogram: $0.data("latencyHistogram") ?? Data())
            }
        }
    }

    /// A run's completions per 100 ms bucket, from its first.
    public func timeline(ofRun id: Int64) throws -> [UInt64] {
        try read { db in
            try db.query("SELECT requests FROM runTimeline WHERE runId = ? ORDER BY bucket", [id]).map { UInt64(max(0, $0.int64("requests"))) }
        }
    }
}
