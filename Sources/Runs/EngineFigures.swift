import Engine
import Foundation
import Histogram

/// A latency histogram in nanoseconds with fixed memory and 3 significant digits, the one every
/// run, report and summary uses (up to a minute).
public func latencyHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

/// fio's `jobs[0].read` or `.write` object, for the numbers both tools have: a program that
/// reads fio's JSON reads vqtrace's (`bench --json`, `replay --json`, a stored run's summary).
public struct FioDirection: Codable, Sendable, Equatable {
    /// fio's `clat_ns`: completion latency.
    public struct Latency: Codable, Sendable, Equatable {
        public var min: UInt64
        public var max: UInt64
        public var mean: Double
        public var stddev: Double
        public var count: UInt64
        /// "50.000000" → ns, as fio keys its percentiles.
        public var percentile: [String: UInt64]

        enum CodingKeys: String, CodingKey { case min, max, mean, stddev, count = "N", percentile }
    }

    public var ioBytes: UInt64
    public var bytesPerSecond: Double
    public var iops: Double
    public var ios: UInt64
    public var latency: Latency

    enum CodingKeys: String, CodingKey {
        case ioBytes = "io_bytes", bytesPerSecond = "bw_bytes", iops, ios = "total_ios", latency = "clat_ns"
    }

    /// The percentiles fio reports by default.
    public static let percentiles: [Double] = [1, 5, 10, 50, 90, 95, 99, 99.5, 99.9, 99.99]

    /// `ios` requests of `ioBytes` over `seconds`, without latencies (a program's own figures).
    public init(ios: UInt64, ioBytes: UInt64, seconds: Double) {
        self.ios = ios
        self.ioBytes = ioBytes
        bytesPerSecond = seconds > 0 ? Double(ioBytes) / seconds : 0
        iops = seconds > 0 ? Double(ios) / seconds : 0
        latency = Latency(min: 0, max: 0, mean: 0, stddev: 0, count: ios, percentile: [:])
    }

    /// The reads (or writes) of `queues` over `seconds`.
    public init(_ queues: [QueueStatistics], read: Bool, seconds: Double) {
        ios = queues.reduce(0) { $0 + (read ? $1.reads : $1.writes) }
        ioBytes = queues.reduce(0) { $0 + (read ? $1.bytesRead : $1.bytesWritten) }
        var h = latencyHistogram()
        for q in queues { h.add(read ? q.readLatency : q.writeLatency) }
        var percentile: [String: UInt64] = [:]
        if ios > 0 { for p in Self.percentiles { percentile[Self.key(p)] = h.valueAtPercentile(p) } }
        let some = ios > 0
        latency = Latency(min: some ? h.min : 0, max: some ? h.max : 0, mean: some ? h.mean : 0, stddev: some ? h.stdDeviation : 0,
                          count: ios, percentile: percentile)
        bytesPerSecond = seconds > 0 ? Double(ioBytes) / seconds : 0
        iops = seconds > 0 ? Double(ios) / seconds : 0
    }

    /// fio's key for a percentile: "99.900000".
    public static func key(_ p: Double) -> String { String(format: "%.6f", p) }
}

/// What one IOThread did, as `bench --json` and `replay --json` list it.
public struct IOThreadFigures: Codable, Sendable, Equatable {
    public var name: String
    public var cpus: [Int]
    public var requests, passes, kicks, notifications, merged, sleeps: UInt64
    public var meanBatch: Double
    public var fixedBufferRequests, resubmissions, pollHits, pollMisses: UInt64
    public var cpuPercent: Double
    /// In flight at the backend, kick → wake-up → submission, reap batches (nil in older runs).
    public var cycle: IOThreadCycle?

    enum CodingKeys: String, CodingKey {
        case name, cpus, requests, passes, kicks, notifications, merged, sleeps, cycle
        case meanBatch = "mean_batch", fixedBufferRequests = "fixed_buffer_requests", resubmissions
        case pollHits = "poll_hits", pollMisses = "poll_misses", cpuPercent = "cpu_percent"
    }

    public init(_ t: IOThreadStatistics) {
        name = t.name
        cpus = t.cpus
        requests = t.requests
        passes = t.passes
        kicks = t.kicks
        notifications = t.notifications
        merged = t.merged
        sleeps = t.sleeps
        meanBatch = t.meanBatch
        fixedBufferRequests = t.fixedBufferRequests
        resubmissions = t.resubmissions
        pollHits = t.pollHits
        pollMisses = t.pollMisses
        cpuPercent = t.cpuPercent
        cycle = t.cycle
    }
}

/// What one vq's driver saw, as `bench --json` and `replay --json` list it.
public struct QueueFigures: Codable, Sendable, Equatable {
    public var device: String
    public var vq: Int
    public var requests, bytes, errors, kicks, interrupts: UInt64
    public var latencyP50Ns, latencyP99Ns: UInt64
    /// The depth the driver really kept (time-weighted mean in flight) and the mean time from
    /// the device's interrupt to its wake-up, ns (nil in older runs).
    public var meanInFlight: Double?
    public var interruptToWakeNs: Double?

    enum CodingKeys: String, CodingKey {
        case device, vq, requests, bytes, errors, kicks, interrupts, latencyP50Ns = "clat_ns_p50", latencyP99Ns = "clat_ns_p99"
        case meanInFlight = "mean_in_flight", interruptToWakeNs = "interrupt_to_wake_ns"
    }

    public init(_ q: QueueStatistics) {
        device = q.device
        vq = q.vq
        requests = q.requests
        bytes = q.bytesRead + q.bytesWritten
        errors = q.errors
        kicks = q.kicks
        interrupts = q.interrupts
        let h = q.reads > 0 ? q.readLatency : q.writeLatency
        latencyP50Ns = h.valueAtPercentile(50)
        latencyP99Ns = h.valueAtPercentile(99)
        meanInFlight = q.meanInFlight
        interruptToWakeNs = q.interrupts > 0 ? q.meanInterruptToWakeNs : nil
    }
}

/// Percentiles of open-loop lateness (how late submissions were against their deadlines), ns.
public struct LatenessFigures: Codable, Sendable, Equatable {
    public var p50, p99, p999: UInt64
    /// The latest submission (runs stored before it was kept have none).
    public var max: UInt64?

    enum CodingKeys: String, CodingKey { case p50, p99, p999 = "p99.9", max }

    /// nil when the histogram is empty (closed-loop and afap runs have no deadlines).
    public init?(_ h: Histogram<UInt64>) {
        guard h.totalCount > 0 else { return nil }
        p50 = h.valueAtPercentile(50)
        p99 = h.valueAtPercentile(99)
        p999 = h.valueAtPercentile(99.9)
        max = h.max
    }
}

/// fio's `jobs[0]`: one job standing for the whole run (fio's `--group_reporting`).
public struct FioJob: Codable, Sendable, Equatable {
    public var jobname: String
    /// The pattern, as fio's `job options` spell it (benchmarks only).
    public var options: [String: String]?
    public var read: FioDirection
    public var write: FioDirection
    public var elapsed: Double

    enum CodingKeys: String, CodingKey { case jobname, options = "job options", read, write, elapsed }

    public init(name: String, options: [String: String]? = nil, queues: [QueueStatistics], seconds: Double) {
        jobname = name
        self.options = options
        read = FioDirection(queues, read: true, seconds: seconds)
        write = FioDirection(queues, read: false, seconds: seconds)
        elapsed = seconds
    }
}
