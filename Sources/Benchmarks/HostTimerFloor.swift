import CLinuxShim
import Foundation

/// The lateness a bare timer loop gets on this host right now: one thread that does nothing but
/// wait for absolute deadlines at the replay's rate (sleep until `leadNs` before each, with timer
/// slack 1 µs, then spin on the clock) and read how late it woke.
///
/// No replayer can beat this floor: on a virtual machine the hypervisor takes a vCPU away for
/// hundreds of µs to several ms at a time, and every deadline that falls in such a gap is late,
/// with or without a virtqueue in between. Measured beside each replay in the same invocation, it
/// tells a user how much of the replay's lateness is the replay's own.
public struct HostTimerFloor: Sendable {
    public var requestsPerSecond: Double
    public var seconds: Double
    /// How long before a deadline the loop stops sleeping and spins (the engine's driver threads
    /// learn theirs, between 2 and 100 µs).
    public var leadNs: UInt64 = 100_000

    public init(requestsPerSecond: Double, seconds: Double) {
        self.requestsPerSecond = requestsPerSecond
        self.seconds = seconds
    }

    /// Runs the loop on its own thread and returns the lateness of each deadline, sorted.
    public func measure() -> [UInt64] {
        let count = max(1, Int(requestsPerSecond * seconds))
        let gapNs = 1e9 / requestsPerSecond
        let lead = leadNs
        let result = FloorResult()
        let thread = Thread {
            linux_set_timer_slack(1_000)
            var lateness = [UInt64](repeating: 0, count: count)
            let start = Self.nowNs() + 1_000_000
            for i in 0..<count {
                let deadline = start + UInt64(Double(i) * gapNs)
                if Self.nowNs() + lead < deadline {
                    var wake = timespec(tv_sec: Int((deadline - lead) / 1_000_000_000), tv_nsec: Int((deadline - lead) % 1_000_000_000))
                    _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, nil)
                }
                var now = Self.nowNs()
                while now < deadline { now = Self.nowNs() }
                lateness[i] = now - deadline
            }
            lateness.sort()
            result.finish(lateness)
        }
        thread.start()
        return result.wait()
    }

    /// The value at `percentile` (0–100) of sorted lateness.
    public static func percentile(_ sorted: [UInt64], _ percentile: Double) -> UInt64 {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * percentile / 100).rounded(.down)))]
    }

    static func nowNs() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}

/// The probe thread's answer, handed to the caller once.
private final class FloorResult: @unchecked Sendable {
    private let done = NSCondition()
    private var lateness: [UInt64]?

    func finish(_ values: [UInt64]) {
        done.lock()
        lateness = values
        done.signal()
        done.unlock()
    }

    func wait() -> [UInt64] {
        done.lock()
        defer { done.unlock() }
        while lateness == nil { done.wait() }
        return lateness!
    }
}
