import Synchronization

/// The run's time origin, shared by drivers (IOPS-over-time buckets) and replay sources
/// (deadlines). The engine sets it once, just before the drivers start.
public final class RunClock: Sendable {
    private let epoch = Atomic<UInt64>(0)
    public init() {}
    /// CLOCK_MONOTONIC ns of the run's start; 0 until the engine starts the drivers.
    public var epochNs: UInt64 { epoch.load(ordering: .acquiring) }
    func start(at ns: UInt64) { epoch.store(ns, ordering: .releasing) }
    /// CLOCK_MONOTONIC now, ns: the clock deadlines and the engine's timestamps are on.
    @inline(__always) public static var nowNs: UInt64 { monotonicNs() }
}
