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

    public var requests: UInt64 { reads + writes + others }
}
