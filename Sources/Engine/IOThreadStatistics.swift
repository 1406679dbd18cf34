/// What one IOThread did during a run (QEMU has no such counters; they explain a layout's result).
public struct IOThreadStatistics: Sendable, Codable, Equatable {
    public var name: String = ""
    public var cpus: [Int] = []
    /// Requests completed (including those rejected without I/O).
    public var requests: UInt64 = 0
    /// Loop passes that found work.
    public var passes: UInt64 = 0
    /// Requests popped, and the drains that popped at least one: their ratio is the batch size.
    public var popped: UInt64 = 0
    public var batches: UInt64 = 0
    /// Requests merged into an adjacent request's I/O (QEMU's request merging).
    public var merged: UInt64 = 0
    /// io_uring requests sent with registered buffers, and transfers sent again (short or EAGAIN).
    public var fixedBufferRequests: UInt64 = 0
    public var resubmissions: UInt64 = 0
    /// Driver kicks read from ioeventfds.
    public var kicks: UInt64 = 0
    /// Interrupts sent through irqfds (one per queue per pass at most).
    public var notifications: UInt64 = 0
    /// Adaptive polling: found work while polling, or polled in vain and blocked.
    public var pollHits: UInt64 = 0
    public var pollMisses: UInt64 = 0
    /// Times the thread slept in poll(2).
    public var sleeps: UInt64 = 0
    public var cpuNs: UInt64 = 0
    public var wallNs: UInt64 = 0
    /// Where each request's round trip spent its time here; nil in runs stored before it was measured.
    public var cycle: IOThreadCycle?

    public init() {}

    public var meanBatch: Double { batches == 0 ? 0 : Double(popped) / Double(batches) }
    /// CPU time over wall time, in percent of one CPU.
    public var cpuPercent: Double { wallNs == 0 ? 0 : Double(cpuNs) * 100 / Double(wallNs) }
}
