import BlockBackend

/// What a run measured.
public struct EngineResult: Sendable {
    public var iothreads: [IOThreadStatistics]
    public var queues: [QueueStatistics]
    /// From the IOThreads' start to the last driver's end, on CLOCK_MONOTONIC.
    public var wallSeconds: Double
    /// Drivers that stopped early, and why.
    public var failures: [String]
    /// Devices a driver broke, and why.
    public var brokenDevices: [String: String]
    /// The run was stopped by `shouldStop` before its sources or its duration ended.
    public var interrupted = false
    /// How the target was made fit to measure before the run (kind `.null` for the null backend).
    public var targetPreparation = TargetPreparation.none
    /// The OS threads that ran the vCPU drivers (`EngineJob.driverThreads` resolved).
    public var driverThreads = 0

    public var requests: UInt64 { queues.reduce(0) { $0 + $1.requests } }
}
