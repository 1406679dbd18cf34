import Histogram

/// What one vCPU driver saw on its queue.
public struct QueueStatistics: Sendable {
    public var device: String = ""
    public var vq: Int = 0
    public var reads: UInt64 = 0
    public var writes: UInt64 = 0
    public var others: UInt64 = 0
    public var bytesRead: UInt64 = 0
    public var bytesWritten: UInt64 = 0
    public var errors: UInt64 = 0
    public var kicks: UInt64 = 0
    public var interrupts: UInt64 = 0
    /// Completion latency (submit to reap), ns.
    public var readLatency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    public var writeLatency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    /// Open-loop replay: how late each request was submitted against its deadline, ns.
    public var lateness = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    /// Completions per 100 ms since the run's start.
    public var timeline: [UInt64] = []
    /// First and last submission (CLOCK_MONOTONIC ns), for the replayed duration.
    public var firstSubmitNs: UInt64 = 0
    public var lastSubmitNs: UInt64 = 0
    public static let timelineBucketNs: UInt64 = 100_000_000
    /// Requests in flight × ns, over `inFlightSpanNs` from the first submission to the last
    /// event, and the moment of the last change: their ratio is the mean depth the driver kept.
    public var inFlightAreaNs: UInt64 = 0
    public var inFlightSpanNs: UInt64 = 0
    public var inFlightSinceNs: UInt64 = 0
    /// The most requests the driver had in flight at once (at most its depth).
    public var maxInFlight = 0
    /// Sum over interrupts of the time from the device's irqfd write to this driver's wake-up.
    public var interruptToWakeNs: UInt64 = 0

    public var requests: UInt64 { reads + writes + others }
    /// The mean number of requests the driver had in flight (time-weighted).
    public var meanInFlight: Double { inFlightSpanNs == 0 ? 0 : Double(inFlightAreaNs) / Double(inFlightSpanNs) }
    /// The mean time from the device's interrupt to the driver's wake-up, ns.
    public var meanInterruptToWakeNs: Double { interrupts == 0 ? 0 : Double(interruptToWakeNs) / Double(interrupts) }
}
