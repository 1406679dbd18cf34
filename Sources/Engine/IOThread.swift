import BlockBackend
import CLinuxShim
import Synchronization
import SystemSupport
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// An IOThread: one OS thread running an event loop over the virtqueues a layout gives it, as
/// QEMU's dataplane does. Per pass and per queue it disables notifications, drains every
/// available request, re-enables and re-checks; the pass's requests go to the backend as one
/// batch; completions are pushed and each queue's used ring is published once per pass, so the
/// driver gets at most one interrupt per queue per pass. Idle, it polls adaptively, then sleeps
/// in poll(2) on the queues' ioeventfds and the backend's completion eventfd.
///
/// With `maxSubmitBatch` N > 0, a drain sends its requests to the backend every N requests
/// instead of once at the end of the pass (as QEMU's IOThread `aio-max-batch` caps aio=native's
/// batches, 32 by default). On a virtual disk that matters: requests that reach the device in
/// one submission come back in one completion batch, so a whole-pass batch keeps every request
/// of a closed loop in lockstep (measured: fio forced to submit and reap 32 at a time loses the
/// same 30% against its default).
///
/// Generic over the backend: the per-request calls are direct. Nothing is allocated per request.
public final class IOThread<Backend: BlockBackend>: @unchecked Sendable {
    public let name: String
    public let cpus: [Int]
    let queues: [VirtqueueEndpoint]
    let backend: Backend
    private let parsers: [BlockRequestParser]
    private let segMax: [Int]
    /// First slot of each local queue; slot = base + head.
    private let slotBase: [Int]
    private let slotQueue: UnsafeMutablePointer<Int32>
    private let slotCount: Int
    // Touched only by the IOThread's own thread (and read after `stop()` joined it): no runtime
    // exclusivity checks on the per-request path.
    @exclusivity(unchecked) private var polling: AdaptivePolling
    private let merger: RequestMerger?
    /// Requests per backend submission within a drain; 0: the whole pass in one.
    private let maxSubmitBatch: Int
    /// Requests given to the backend since its last submission.
    @exclusivity(unchecked) private var unsent = 0
    /// The recorder's tap, when the run records; `popNs` holds each slot's pop time for it.
    private let tap: RecorderTap?
    private let popNs: UnsafeMutablePointer<UInt64>
    /// Each slot's place in this IOThread's pop order, and the next place: the clock is read
    /// once per batch, so requests popped in one pass share a time and only this keeps their
    /// order in the recording.
    private let popOrder: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private var pops: UInt64 = 0
    /// The time of the current drain or reap, for the tap: one clock read per batch, not per
    /// request (a batch spans microseconds).
    @exclusivity(unchecked) private var tapNow: UInt64 = 0
    /// `stop()` writes here to wake the loop from poll(2).
    private let wake: OwnedDescriptor
    private var wakeFD: Int32 { wake.rawValue }
    private let stopRequested = Atomic<Bool>(false)
    private var thread: OSThread?
    @exclusivity(unchecked) public private(set) var statistics = IOThreadStatistics()
    @exclusivity(unchecked) private var cycle = IOThreadCycleCounters()

    /// Whether this IOThread serves `vq` of `device`.
    func serves(device: VirtioBlkDevice, vq: Int) -> Bool { queues.contains { $0.device === device && $0.index == vq } }

    /// The number of backend slots the queues need (one per descriptor head).
    public static func slots(for queues: [VirtqueueEndpoint]) -> Int { queues.reduce(0) { $0 + $1.ring.size } }

    public init(name: String, queues: [VirtqueueEndpoint], backend: Backend, pollMaxNs: UInt64 = 32_768, cpus: [Int] = [],
                mergeRequests: Bool = true, maxSubmitBatch: Int = 0, tap: RecorderTap? = nil) throws {
        precondition(maxSubmitBatch >= 0, "a negative submission batch")
        self.tap = tap
        self.maxSubmitBatch = maxSubmitBatch
        self.name = name
        self.cpus = cpus
        self.queues = queues
        self.backend = backend
        parsers = queues.map { BlockRequestParser(config: $0.device.blkConfig) }
        segMax = queues.map { $0.device.config.segMax }
        var bases: [Int] = []
        var next = 0
        for q in queues {
            bases.append(next)
            next += q.ring.size
        }
        slotBase = bases
        slotCount = next
        slotQueue = .allocate(capacity: max(next, 1))
        for (local, q) in queues.enumerated() {
            for head in 0..<q.ring.size { slotQueue[bases[local] + head] = Int32(local) }
        }
        polling = AdaptivePolling(maxNs: pollMaxNs)
        merger = mergeRequests ? RequestMerger(slots: next) : nil
        popNs = .allocate(capacity: max(next, 1))
        popOrder = .allocate(capacity: max(next, 1))
        // Each device's guest memory, once: io_uring registers it as fixed buffers.
        var regions: [UnsafeMutableRawBufferPointer] = []
        var seen = Set<ObjectIdentifier>()
        for q in queues where seen.insert(ObjectIdentifier(q.device)).inserted {
            regions.append(contentsOf: q.device.memoryRegions)
        }
        backend.registerMemory(regions)
        wake = try OwnedDescriptor(checking: linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK), call: "eventfd",
                                   operation: "making IOThread \(name)'s wake-up signal")
        statistics.name = name
        statistics.cpus = cpus
    }

    deinit {
        popNs.deallocate()
        popOrder.deallocate()
        slotQueue.deallocate()
    }

    public func start() throws {
        precondition(thread == nil, "IOThread started twice")
        thread = try OSThread.start(name: name, cpus: cpus) { [self] in run() }
    }

    /// Asks the loop to finish once nothing is in flight, and waits for it.
    public func stop() -> IOThreadStatistics {
        stopRequested.store(true, ordering: .releasing)
        _ = linux_eventfd_write(wakeFD, 1)
        thread?.join()
        thread = nil
        return statistics
    }

    // MARK: The loop

    private func run() {
        let startWall = monotonicNs()
        let startCPU = threadCPUNs()
        var fds = [pollfd](repeating: pollfd(), count: queues.count + 2)
        for (i, q) in queues.enumerated() { fds[i] = pollfd(fd: q.kickFD, events: Int16(POLLIN), revents: 0) }
        fds[queues.count] = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        fds[queues.count + 1] = pollfd(fd: backend.completionFD, events: Int16(POLLIN), revents: 0)
        let fdCount = nfds_t(backend.completionFD >= 0 ? fds.count : fds.count - 1)

        cycle.lastAccountNs = startWall
        while true {
            var work = 0
            let passStart = monotonicNs()
            cycle.account(inFlight: backend.inFlight, now: passStart)
            if tap != nil { tapNow = passStart }
            for local in 0..<queues.count where !queues[local].device.isBroken {
                work += drain(local)
            }
            submitToBackend()
            if cycle.pendingWakeNs > 0 {
                // The pass after a kick's wake-up: when it found the kicked requests, they are at
                // the backend now, the IOThread's share of a submission. Either way the wake-up is
                // accounted, so a later pass woken by a completion is not timed from it.
                if work > 0 {
                    let now = monotonicNs()
                    cycle.wakeToSubmitNs &+= now > cycle.pendingWakeNs ? now - cycle.pendingWakeNs : 0
                    cycle.kickedSubmissions += 1
                }
                cycle.pendingWakeNs = 0
            }
            if tap != nil && backend.hasCompletions { tapNow = monotonicNs() }
            let reaped = backend.reap { slot, result in complete(slot: slot, result: result) }
            if reaped > 0 {
                cycle.reaps += 1
                cycle.reaped += UInt64(reaped)
            }
            work += reaped
            publish()
            if work > 0 {
                statistics.passes += 1
                continue
            }
            if stopRequested.load(ordering: .acquiring) && backend.inFlight == 0 { break }

            if polling.pollNs > 0 {
                let deadline = monotonicNs() + polling.pollNs
                var found = false
                repeat {
                    if backend.hasCompletions { found = true; break }
                    for q in queues where q.ring.hasAvailable && !q.device.isBroken { found = true; break }
                    if found { break }
                } while monotonicNs() < deadline
                if found {
                    statistics.pollHits += 1
                    continue
                }
                statistics.pollMisses += 1
            }

            let before = monotonicNs()
            statistics.sleeps += 1
            let rc = poll(&fds, fdCount, -1)
            let woke = monotonicNs()
            polling.afterSleep(blockedNs: woke - before)
            if rc <= 0 { continue }
            for i in 0..<queues.count where fds[i].revents != 0 {
                var value: UInt64 = 0
                if linux_eventfd_read(fds[i].fd, &value) == 0 { statistics.kicks += value }
                // Only a kick made while the IOThread slept woke it. A kick made while it was
                // awake left the eventfd readable after the pass had taken its requests: poll
                // returns at once for it, and timing from it would count the pass's own work
                // (or, once that empty pass sleeps again, a whole device round trip) as wake-up.
                let kicked = queues[i].lastKickNs.load(ordering: .relaxed)
                if kicked >= before && woke > kicked {
                    cycle.kickToWakeNs &+= woke - kicked
                    cycle.kickWakeUps += 1
                    cycle.pendingWakeNs = woke
                }
            }
            if fds[queues.count].revents != 0 {
                var value: UInt64 = 0
                _ = linux_eventfd_read(wakeFD, &value)
            }
            if fdCount > nfds_t(queues.count + 1) && fds[queues.count + 1].revents != 0 { backend.clearCompletionSignal() }
        }
        statistics.merged = merger?.mergedAway ?? 0
        statistics.fixedBufferRequests = UInt64(backend.counters.fixedBufferRequests)
        statistics.resubmissions = UInt64(backend.counters.resubmissions)
        statistics.cpuNs = threadCPUNs() - startCPU
        statistics.wallNs = monotonicNs() - startWall
        statistics.cycle = cycle.summary(wallNs: statistics.wallNs, requests: statistics.requests, sleeps: statistics.sleeps)
    }

    /// Pops every available request of a queue; returns how many.
    @inline(__always) private func drain(_ local: Int) -> Int {
        let q = queues[local]
        var count = 0
        // Whatever this drain collected goes to the backend, even when the device breaks halfway.
        defer { merger?.flush(to: backend) }
        q.ring.disableNotifications()
        repeat {
            while true {
                let chain: DescriptorChain?
                do {
                    chain = try q.ring.pop(into: q.chainStorage)
                } catch {
                    q.device.markBroken("vq \(q.index): \(error)")
                    return count
                }
                guard let chain else { break }
                count += 1
                handle(chain, local: local, queue: q)
                if maxSubmitBatch > 0 && unsent >= maxSubmitBatch {
                    merger?.flush(to: backend)
                    submitToBackend()
                }
                if q.device.isBroken { return count }
            }
        } while q.ring.enableNotifications()
        if count > 0 {
            statistics.popped += UInt64(count)
            statistics.batches += 1
        }
        return count
    }

    @inline(__always) private func handle(_ chain: DescriptorChain, local: Int, queue q: VirtqueueEndpoint) {
        let head = Int(chain.head)
        let slot = slotBase[local] + head
        if tap != nil {
            popNs[slot] = tapNow
            popOrder[slot] = pops
            pops &+= 1
        }
        let segments = q.segments + head * segMax[local]
        let request: BlockRequest
        do {
            request = try parsers[local].parse(chain, into: UnsafeMutableBufferPointer(start: segments, count: segMax[local]))
        } catch {
            q.device.markBroken("vq \(q.index): \(error)")
            return
        }
        if let rejection = request.rejection {
            finish(request, queue: q, status: rejection.status, slot: slot)
            return
        }
        let operation: BlockOperation
        switch request.type {
        case .read?: operation = .read
        case .write?: operation = .write
        case .flush?: operation = .flush
        case .discard?: operation = .discard
        case .writeZeroes?: operation = .writeZeroes
        case .getID?:
            finish(request, queue: q, status: parsers[local].executeGetID(request, segments: UnsafeMutableBufferPointer(start: segments, count: segMax[local])), slot: slot)
            return
        case nil:
            finish(request, queue: q, status: .unsupported, slot: slot)
            return
        }
        q.requests[head] = request
        let io = BlockIO(operation: operation, offset: request.offset, length: request.dataLength,
                         iovecs: segments, iovecCount: request.segmentCount)
        unsent += 1
        if let merger, operation == .read || operation == .write {
            merger.add(slot: slotBase[local] + head, io, backend: backend)
        } else {
            backend.submit(slot: slotBase[local] + head, io)
        }
    }

    @inline(__always) private func complete(slot: Int, result: Int32) {
        precondition(slot >= 0 && slot < slotCount, "backend returned slot \(slot) of \(slotCount)")
        let status: VirtioBlkStatus = result >= 0 ? .ok : .ioError
        if let merger {
            merger.forEachMember(of: slot) { member in finishSlot(member, status: status) }
        } else {
            finishSlot(slot, status: status)
        }
    }

    @inline(__always) private func finishSlot(_ slot: Int, status: VirtioBlkStatus) {
        let local = Int(slotQueue[slot])
        let q = queues[local]
        finish(q.requests[slot - slotBase[local]], queue: q, status: status, slot: slot)
    }

    @inline(__always) private func finish(_ request: BlockRequest, queue q: VirtqueueEndpoint, status: VirtioBlkStatus, slot: Int) {
        if let tap {
            tap.push(TapRecord(device: UInt16(truncatingIfNeeded: q.device.engineIndex), vq: UInt16(truncatingIfNeeded: q.index), type: request.rawType,
                               sector: request.sector, length: UInt32(clamping: request.dataLength), submitNs: popNs[slot],
                               completionNs: max(tapNow, popNs[slot]), status: status.rawValue, popOrder: popOrder[slot]))
        }
        request.complete(status)
        q.ring.pushUsed(head: request.head, length: request.usedLength)
        q.dirty = true
        statistics.requests += 1
    }

    /// Sends what the backend holds to the device, counting the submissions that carried requests.
    @inline(__always) private func submitToBackend() {
        backend.submitPending()
        if unsent > 0 {
            cycle.submissions += 1
            cycle.submitted &+= UInt64(unsent)
            unsent = 0
        }
    }

    /// Publishes each queue's used ring once and interrupts its driver when the ring asks for it.
    @inline(__always) private func publish() {
        for q in queues where q.dirty {
            q.dirty = false
            if q.ring.publishUsed() {
                q.lastCallNs.store(monotonicNs(), ordering: .relaxed)
                _ = linux_eventfd_write(q.callFD, 1)
                statistics.notifications += 1
            }
        }
    }
}
