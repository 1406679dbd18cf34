import BlockBackend
import Engine
import Replay

/// `vqtrace replay --json`: fio's JSON shape (`jobs[0].read.iops`, `clat_ns.percentile`) with
/// what a replay adds: its IOThreads and vqs, how much of the trace it replayed, lateness,
/// warnings, damage, and how the target was prepared.
public struct ReplayDocument: Encodable, Sendable {
    public struct DamagedChunkFigures: Encodable, Sendable {
        public var chunk: Int
        public var recordsLost: UInt64
        public var problem: String
        enum CodingKeys: String, CodingKey { case chunk, recordsLost = "records_lost", problem }
    }

    public var fioVersion = "vqtrace"
    public var trace: String
    public var layout: String
    public var backend: String
    public var timing: String
    public var speed: Double
    public var target: String?
    public var runId: Int64?
    public var jobs: [FioJob]
    public var iothreads: [IOThreadFigures]
    public var vqs: [QueueFigures]
    public var replayed: UInt64
    public var skipped: UInt64
    public var scheduledNs: UInt64
    public var replayedNs: UInt64
    public var lateness: LatenessFigures?
    public var warning: String?
    public var failures: [String]
    public var traceErrors: [String]
    public var damagedChunks: [DamagedChunkFigures]
    public var targetPreparation: TargetPreparation
    /// Completions per 100 ms, every vq summed, from the run's start.
    public var timeline: [UInt64]
    public var timelineBucketNs = QueueStatistics.timelineBucketNs
    /// With `--record`: what the recording holds and the records it could not keep.
    public var recording: RecordingFigures?
    /// With `--compare`: the recording against the trace.
    public var fidelity: Fidelity?
    /// The `--driver-threads` setting and the threads it made.
    public var driverThreads: DriverThreadFigures

    public struct RecordingFigures: Encodable, Sendable {
        public var path: String
        public var records: UInt64
        public var dropped: UInt64
        public var reordered: UInt64
        public init(path: String, records: UInt64, dropped: UInt64, reordered: UInt64) {
            self.path = path
            self.records = records
            self.dropped = dropped
            self.reordered = reordered
        }
    }
    /// Chunks fetched from the catalog, for a trace read from it (nil for a file).
    public var catalogChunksFetched: Int?

    enum CodingKeys: String, CodingKey {
        case fioVersion = "fio version", trace, layout, backend, timing, speed, target, runId = "run_id", jobs, iothreads, vqs
        case replayed, skipped, scheduledNs = "scheduled_ns", replayedNs = "replayed_ns", lateness = "lateness_ns", warning, failures
        case traceErrors = "trace_errors", damagedChunks = "damaged_chunks", targetPreparation = "target_preparation"
        case timeline, timelineBucketNs = "timeline_bucket_ns", recording, fidelity, driverThreads = "driver_threads"
        case catalogChunksFetched = "catalog_chunks_fetched"
    }

    public init(_ result: ReplayResult, tracePath: String, layout: String, backend: BackendKind, options: ReplayOptions, target: String?, runId: Int64?) {
        let engine = result.engine
        trace = tracePath
        self.layout = layout
        self.backend = result.backEnd ?? backend.rawValue
        timing = options.timing.rawValue
        speed = options.speed
        self.target = target
        self.runId = runId
        jobs = [FioJob(name: "vqtrace-replay", queues: engine.queues, seconds: engine.wallSeconds)]
        iothreads = engine.iothreads.map(IOThreadFigures.init)
        vqs = engine.queues.map(QueueFigures.init)
        replayed = result.replayed
        skipped = result.skipped
        scheduledNs = result.scheduledNs
        replayedNs = result.replayedNs
        lateness = LatenessFigures(result.lateness)
        warning = result.warning
        failures = engine.failures
        traceErrors = result.traceErrors
        damagedChunks = result.damagedChunks.map { DamagedChunkFigures(chunk: $0.index, recordsLost: $0.records, problem: $0.error.description) }
        targetPreparation = result.targetPreparation
        driverThreads = DriverThreadFigures(setting: result.driverThreads.description, threads: engine.driverThreads)
        var sum: [UInt64] = []
        for q in engine.queues {
            if sum.count < q.timeline.count { sum += [UInt64](repeating: 0, count: q.timeline.count - sum.count) }
            for (i, n) in q.timeline.enumerated() { sum[i] += n }
        }
        timeline = sum
    }

    /// Encodes nil members as JSON null (programs test for the key, as fio's readers do).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fioVersion, forKey: .fioVersion)
        try c.encode(trace, forKey: .trace)
        try c.encode(layout, forKey: .layout)
        try c.encode(backend, forKey: .backend)
        try c.encode(timing, forKey: .timing)
        try c.encode(speed, forKey: .speed)
        try c.encode(target, forKey: .target)
        try c.encode(runId, forKey: .runId)
        try c.encode(jobs, forKey: .jobs)
        try c.encode(iothreads, forKey: .iothreads)
        try c.encode(vqs, forKey: .vqs)
        try c.encode(replayed, forKey: .replayed)
        try c.encode(skipped, forKey: .skipped)
        try c.encode(scheduledNs, forKey: .scheduledNs)
        try c.encode(replayedNs, forKey: .replayedNs)
        try c.encodeIfPresent(lateness, forKey: .lateness)
        try c.encode(warning, forKey: .warning)
        try c.encode(failures, forKey: .failures)
        try c.encode(traceErrors, forKey: .traceErrors)
        try c.encode(damagedChunks, forKey: .damagedChunks)
        try c.encode(targetPreparation, forKey: .targetPreparation)
        try c.encode(driverThreads, forKey: .driverThreads)
        try c.encode(timeline, forKey: .timeline)
        try c.encode(timelineBucketNs, forKey: .timelineBucketNs)
        try c.encodeIfPresent(recording, forKey: .recording)
        try c.encodeIfPresent(fidelity, forKey: .fidelity)
        try c.encodeIfPresent(catalogChunksFetched, forKey: .catalogChunksFetched)
    }
}
