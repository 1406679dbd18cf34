import CLinuxShim
import Foundation
import Virtio
import SystemSupport

/// A pool of worker threads doing preadv/pwritev/fdatasync/fallocate (QEMU's aio=threads).
/// Submissions and completions cross threads through two locked rings; completions signal an
/// eventfd. Slower per request than io_uring by design: it is the configuration users compare.
public final class ThreadPoolBackend: BlockBackend, @unchecked Sendable {
    private let shared: SharedQueues
    // The IOThread's side and the lock-guarded queues: exclusivity is the locks' business, not the
    // runtime's, so the per-request checks are off.
    @exclusivity(unchecked) private var reapBuffer: [(Int, Int32)]
    @exclusivity(unchecked) public private(set) var inFlight = 0

    public init(target: BlockTarget, slots: Int, threads: Int = 4) throws {
        shared = try SharedQueues(target: target, slots: slots)
        reapBuffer = [(Int, Int32)](repeating: (0, 0), count: slots)
        for _ in 0..<max(1, threads) { try shared.startWorker() }
    }

    deinit {
        shared.stopWorkers()
    }

    public func submit(slot: Int, _ io: BlockIO) {
        inFlight += 1
        shared.enqueue(slot: slot, io)
    }

    public func submitPending() {}

    public func reap(_ body: (Int, Int32) -> Void) -> Int {
        let n = shared.takeCompletions(into: &reapBuffer)
        for i in 0..<n { body(reapBuffer[i].0, reapBuffer[i].1) }
        inFlight -= n
        return n
    }

    public var hasCompletions: Bool { shared.hasCompletions }
    public var completionFD: Int32 { shared.eventFD }

    public func clearCompletionSignal() {
        var value: UInt64 = 0
        _ = linux_eventfd_read(shared.eventFD, &value)
    }
}

/// What the IOThread and the workers share: the request table, the work ring, the completion
/// ring and the eventfd. Owned jointly (workers hold it strongly), so the backend can stop and
/// wait for its workers in deinit.
private final class SharedQueues: @unchecked Sendable {
    let fd: Int32
    let target: BlockTarget
    /// Completions signal it; closed with the queues.
    private let completionSignal: OwnedDescriptor
    var eventFD: Int32 { completionSignal.rawValue }
    let requests: UnsafeMutablePointer<BlockIO>
    let capacity: Int
    /// Joined in `stopWorkers`, so that no worker outlives the backend.
    private var workers: [pthread_t] = []
    private let work = NSCondition()
    // The IOThread's side and the lock-guarded queues: exclusivity is the locks' business, not the
    // runtime's, so the per-request checks are off.
    @exclusivity(unchecked) private var pending: [Int]
    @exclusivity(unchecked) private var pendingHead = 0
    @exclusivity(unchecked) private var pendingCount = 0
    private var stopping = false
    private let finished = NSLock()
    @exclusivity(unchecked) private var completions: [(Int, Int32)]
    @exclusivity(unchecked) private var completionCount = 0

    init(target: BlockTarget, slots: Int) throws {
        fd = target.fd
        self.target = target
        capacity = slots
        requests = .allocate(capacity: slots)
        pending = [Int](repeating: 0, count: slots)
        completions = [(Int, Int32)](repeating: (0, 0), count: slots)
        completionSignal = try OwnedDescriptor(checking: linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK), call: "eventfd",
                                               path: target.path, operation: "making the thread pool's completion signal")
    }

    deinit {
        requests.deallocate()
    }

    func enqueue(slot: Int, _ io: BlockIO) {
        requests[slot] = io
        work.lock()
        pending[(pendingHead + pendingCount) % capacity] = slot
        pendingCount += 1
        work.signal()
        work.unlock()
    }

    func startWorker() throws {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let queues = Unmanaged<SharedQueues>.fromOpaque(raw!).takeRetainedValue()
            linux_set_thread_name("vqtrace-aio")
            queues.workerLoop()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<SharedQueues>.fromOpaque(context).release()
            throw SystemCallError(call: "pthread_create", returned: rc, path: target.path, operation: "starting a thread-pool worker")
        }
        workers.append(thread)
    }

    func stopWorkers() {
        work.lock()
        stopping = true
        work.broadcast()
        work.unlock()
        for thread in workers { pthread_join(thread, nil) }
        workers.removeAll()
    }

    func takeCompletions(into buffer: inout [(Int, Int32)]) -> Int {
        finished.lock()
        let n = completionCount
        for i in 0..<n { buffer[i] = completions[i] }
        completionCount = 0
        finished.unlock()
        return n
    }

    var hasCompletions: Bool {
        finished.lock()
        defer { finished.unlock() }
        return completionCount > 0
    }

    func workerLoop() {
        while true {
            work.lock()
            while pendingCount == 0 && !stopping { work.wait() }
            if pendingCount == 0 && stopping {
                work.unlock()
                return
            }
            let slot = pending[pendingHead]
            pendingHead = (pendingHead + 1) % capacity
            pendingCount -= 1
            work.unlock()
            let result = perform(requests[slot])
            finished.lock()
            completions[completionCount] = (slot, result)
            completionCount += 1
            finished.unlock()
            _ = linux_eventfd_write(eventFD, 1)
        }
    }

    /// Does one request with plain syscalls, retrying short transfers and EINTR.
    private func perform(_ io: BlockIO) -> Int32 {
        switch io.operation {
        case .read, .write:
            var iovecs = io.iovecs!
            var count = io.iovecCount
            var offset = off_t(io.offset)
            var total: UInt64 = 0
            // Short transfers advance the iovecs in place: the IOThread parses a new request
            // into them before they are used again.
            while total < io.length {
                let n = iovecs.withMemoryRebound(to: iovec.self, capacity: count) {
                    io.operation == .read ? preadv(fd, $0, Int32(count), offset) : pwritev(fd, $0, Int32(count), offset)
                }
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return -errno
                }
                if n == 0 { return -EIO }
                total += UInt64(n)
                offset += off_t(n)
                var left = n
                while left > 0 && count > 0 {
                    if iovecs.pointee.length <= left {
                        left -= iovecs.pointee.length
                        iovecs += 1
                        count -= 1
                    } else {
                        iovecs.pointee.base = iovecs.pointee.base.map { $0 + left }
                        iovecs.pointee.length -= left
                        left = 0
                    }
                }
            }
            return Int32(truncatingIfNeeded: total)
        case .flush:
            return fdatasync(fd) == 0 ? 0 : -errno
        case .discard, .writeZeroes:
            return target.deallocate(io.operation, offset: io.offset, length: io.length)
        }
    }
}
