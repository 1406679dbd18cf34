import CLinuxShim
import Foundation
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// A dedicated OS thread (not a Swift concurrency task): the engine's IOThreads and vCPU drivers
/// block in poll/read and spin, which would starve a cooperative pool. Optionally pinned.
final class OSThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void
    let name: String
    let cpus: [Int]
    /// The pinning error, if the kernel refused the CPU set (the thread still runs, unpinned).
    private(set) var pinError: Int32 = 0
    /// Signalled once when the body returns.
    private let finished = DispatchSemaphore(value: 0)

    /// Waits until the body has returned or `timeout` passes; true when it has returned (then
    /// `join` does not block). Returns at once when the body ends, so a caller that measures
    /// the run's length is not late by its polling interval.
    func waitFinished(timeout: DispatchTime) -> Bool {
        guard finished.wait(timeout: timeout) == .success else { return false }
        finished.signal()  // for the next caller
        return true
    }

    private init(name: String, cpus: [Int], body: @escaping () -> Void) {
        self.name = name
        self.cpus = cpus
        self.body = body
    }

    /// Starts `body` on a new thread named `name` (15 characters show in top/ps), pinned to
    /// `cpus` when not empty.
    static func start(name: String, cpus: [Int] = [], _ body: @escaping () -> Void) throws -> OSThread {
        let t = OSThread(name: name, cpus: cpus, body: body)
        let context = Unmanaged.passRetained(t).toOpaque()
        let rc = pthread_create(&t.thread, nil, { raw in
            let me = Unmanaged<OSThread>.fromOpaque(raw!).takeRetainedValue()
            linux_set_thread_name(String(me.name.prefix(15)))
            if !me.cpus.isEmpty {
                me.pinError = me.cpus.withUnsafeBufferPointer { buffer in
                    var cpus32 = buffer.map { Int32($0) }
                    return linux_pin_current_thread(&cpus32, Int32(cpus32.count))
                }
            }
            me.body()
            me.finished.signal()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<OSThread>.fromOpaque(context).release()
            throw SystemCallError(call: "pthread_create", returned: rc, operation: "starting thread \(name)")
        }
        return t
    }

    func join() {
        pthread_join(thread, nil)
    }
}

/// Monotonic nanoseconds.
@inline(__always) func monotonicNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// CPU time the calling thread has used, in nanoseconds.
func threadCPUNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
