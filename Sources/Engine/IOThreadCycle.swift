/// An IOThread's side of each request's round trip, to answer "does the backend hold as many
/// requests as the drivers think they have in flight, and where does the rest of the cycle go?"
/// (kick → IOThread wake-up → submission; completion → used ring → interrupt).
public struct IOThreadCycle: Sendable, Codable, Equatable {
    /// Requests in flight at the backend (submitted to it, not reaped), time-weighted mean.
    public var meanInFlight: Double
    /// Mean time from a driver's kick made while this thread slept to its wake-up from poll(2),
    /// ns. (A kick made while it was awake costs no wake-up: the pass in progress or the next
    /// takes its requests.)
    public var kickToWakeNs: Double
    /// Mean time from that wake-up to the kicked requests' submission to the backend, ns.
    /// Together with `kickToWakeNs`, the IOThread's part of a kicked request's latency.
    public var wakeToSubmitNs: Double
    /// Completions per reap that found any.
    public var meanReapBatch: Double
    /// Wake-ups from poll(2) per request: 0 while it polls, up to 2 when every kick and every
    /// completion wakes it.
    public var wakeUpsPerRequest: Double
    /// Requests per submission to the backend (a pass's, or `maxSubmitBatch`'s); nil in runs
    /// stored before it was measured.
    public var meanSubmitBatch: Double?

    enum CodingKeys: String, CodingKey {
        case meanInFlight = "mean_in_flight", kickToWakeNs = "kick_to_wake_ns", wakeToSubmitNs = "wake_to_submit_ns"
        case meanReapBatch = "mean_reap_batch", wakeUpsPerRequest = "wake_ups_per_request"
        case meanSubmitBatch = "mean_submit_batch"
    }

    public init(meanInFlight: Double, kickToWakeNs: Double, wakeToSubmitNs: Double, meanReapBatch: Double, wakeUpsPerRequest: Double,
                meanSubmitBatch: Double? = nil) {
        self.meanSubmitBatch = meanSubmitBatch
        self.meanInFlight = meanInFlight
        self.kickToWakeNs = kickToWakeNs
        self.wakeToSubmitNs = wakeToSubmitNs
        self.meanReapBatch = meanReapBatch
        self.wakeUpsPerRequest = wakeUpsPerRequest
    }
}

/// The IOThread loop's running sums behind its `IOThreadCycle`; touched only by its thread.
struct IOThreadCycleCounters {
    var inFlightAreaNs: UInt64 = 0
    var lastAccountNs: UInt64 = 0
    var kickToWakeNs: UInt64 = 0
    var kickWakeUps: UInt64 = 0
    var wakeToSubmitNs: UInt64 = 0
    var kickedSubmissions: UInt64 = 0
    /// The wake-up a kick caused whose requests are not submitted yet (0: none).
    var pendingWakeNs: UInt64 = 0
    var reaps: UInt64 = 0
    var reaped: UInt64 = 0
    var submissions: UInt64 = 0
    var submitted: UInt64 = 0

    /// Adds `inFlight` requests held since the last call.
    @inline(__always) mutating func account(inFlight: Int, now: UInt64) {
        if lastAccountNs > 0 && now > lastAccountNs { inFlightAreaNs &+= UInt64(inFlight) &* (now - lastAccountNs) }
        lastAccountNs = now
    }

    func summary(wallNs: UInt64, requests: UInt64, sleeps: UInt64) -> IOThreadCycle {
        func mean(_ sum: UInt64, _ count: UInt64) -> Double { count == 0 ? 0 : Double(sum) / Double(count) }
        return IOThreadCycle(meanInFlight: mean(inFlightAreaNs, wallNs), kickToWakeNs: mean(kickToWakeNs, kickWakeUps),
                             wakeToSubmitNs: mean(wakeToSubmitNs, kickedSubmissions), meanReapBatch: mean(reaped, reaps),
                             wakeUpsPerRequest: mean(sleeps, requests), meanSubmitBatch: mean(submitted, submissions))
    }
}
