import Engine

/// How a trace is replayed.
public struct ReplayOptions: Sendable {
    /// When each request is issued.
    public enum Timing: String, Sendable, CaseIterable {
        /// At its recorded submit time ÷ speed, against absolute deadlines (lateness is recorded).
        case open
        /// When the queue's recorded in-flight depth allows (needs completion times).
        case closed
        /// Closed loop that keeps the guest's idle time: when the recorded depth allows and a
        /// recorded gap after what the request followed (the completion of an earlier request,
        /// or the previous submission), as it happened in the replay.
        case think
        /// As fast as possible, up to the depth cap per queue.
        case afap
    }

    /// What happens to writes.
    public enum Writes: String, Sendable, CaseIterable {
        /// Replayed as recorded.
        case asIs = "as-is"
        /// Left out, with DISCARD and WRITE_ZEROES (read-only checks of a device that must not change).
        case skip
        /// Replayed as reads of the same range; DISCARD and WRITE_ZEROES are left out.
        case asReads = "as-reads"
    }

    public var timing: Timing = .open
    public var speed: Double = 1
    /// The window of the trace to replay, [from, to) in trace ns.
    public var fromNs: UInt64 = 0
    public var toNs: UInt64 = .max
    /// Only these vqs (of every device); nil replays all.
    public var vqs: Set<Int>?
    /// Copies of the trace as separate devices (the dense-host scenario).
    public var vms: Int = 1
    /// All copies share the layout's IOThreads instead of getting their own.
    public var sharedIOThreads = false
    /// Each copy starts up to this much later than the first (seeded).
    public var jitterNs: UInt64 = 1_000_000
    public var seed: UInt64 = 1
    public var writes: Writes = .asIs
    /// Requests in flight per vq for afap, and the cap for the other modes.
    public var depth: Int = 32
    /// Lateness p99 above this marks the run: the host could not keep the schedule.
    public var latenessWarnNs: UInt64 = 1_000_000
    /// Largest request replayed; longer ones are skipped and counted.
    public var maxRequestBytes: Int = 1 << 20
    /// How many OS threads run the vCPU drivers (see `DriverThreads`).
    public var driverThreads = DriverThreads.auto

    public init() {}

    /// Every option at once, as a command line gives them.
    public init(timing: Timing, speed: Double, vqs: Set<Int>?, vms: Int, sharedIOThreads: Bool, jitterNs: UInt64, seed: UInt64,
                writes: Writes, depth: Int, latenessWarnNs: UInt64) {
        self.timing = timing
        self.speed = speed
        self.vqs = vqs
        self.vms = vms
        self.sharedIOThreads = sharedIOThreads
        self.jitterNs = jitterNs
        self.seed = seed
        self.writes = writes
        self.depth = depth
        self.latenessWarnNs = latenessWarnNs
    }

    /// Sets the window from offsets after the trace's first request (`--from`, `--to`);
    /// saturating: a window past the end of time is simply after the trace (`check` says so).
    public mutating func window(fromOffsetNs from: UInt64?, toOffsetNs to: UInt64?, traceStart start: UInt64) {
        if let from { fromNs = start.addingReportingOverflow(from).overflow ? .max - 1 : start + from }
        if let to { toNs = start.addingReportingOverflow(to).overflow ? .max : start + to }
    }
}
