import CLinuxShim
import Dispatch
import Histogram
import Synchronization
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// The guest side of one virtqueue: a dedicated thread that plays a vCPU running the guest's
/// virtio-blk driver. It keeps up to `depth` requests in flight from its source, kicks the
/// queue's ioeventfd when the ring asks for it, and sleeps on the queue's irqfd (or polls) for
/// completions, recording each request's latency.
public final class VCPUDriver<Source: RequestSource>: @unchecked Sendable {
    public let device: VirtioBlkDevice
    /// The device's own guest memory, where this driver keeps its rings and buffers.
    private let memory: GuestMemory
    public let vq: Int
    public let depth: Int
    public let maxBlock: Int
    public let pollForCompletions: Bool
    // Touched only by the driver's own thread (and read after `join()`): no runtime exclusivity
    // checks on the per-request path.
    @exclusivity(unchecked) public private(set) var source: Source
    @exclusivity(unchecked) public private(set) var statistics = QueueStatistics()
    private let ring: SplitVirtqueueDriver
    private let stop: StopFlag
    private let cpus: [Int]
    private var thread: OSThread?
    // Per slot (0..<depth): guest addresses and the request in it.
    private let headerAddress: UInt64
    private let statusAddress: UInt64
    private let payloadAddress: UInt64
    private let dataAddress: UInt64
    private let dataSlotBytes: Int
    private let buffers: UnsafeMutablePointer<DriverBuffer>
    private let planned: UnsafeMutablePointer<PlannedRequest>
    private let submittedAt: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private var freeSlots: [Int]
    private let clock: RunClock
    /// Run under SCHED_FIFO so that a deadline's wake-up is not queued behind other threads.
    private let realtime: Bool
    /// The error when SCHED_FIFO was refused (not root, or RLIMIT_RTPRIO); the driver runs on.
    @exclusivity(unchecked) public private(set) var realtimeError: Int32 = 0
    /// The request the source gave that waits for its deadline.
    @exclusivity(unchecked) private var held: PlannedRequest?
    /// Below this, a wait for a deadline spins instead of sleeping (wake-ups take tens of µs).
    /// Longer spins caught more deadlines at 20k IOPS here but starved the IOThreads at 100k,
    /// whose requests then queued for milliseconds (measured on 2 vCPUs with 8 drivers).
    private let spinNs: UInt64 = 20_000
    /// The first error that stopped the driver (a ring the device broke, say).
    @exclusivity(unchecked) public private(set) var failure: String?

    static var indirectEntries: Int { VCPUDriverArea.indirectEntries }

    public init(device: VirtioBlkDevice, vq: Int, source: Source, depth: Int, maxBlock: Int, stop: StopFlag,
                pollForCompletions: Bool = false, cpus: [Int] = [], clock: RunClock = RunClock(), realtime: Bool = false) throws {
        guard let mapping = device.mapping, vq < device.driverAreas.count else {
            throw EngineError.configuration("vq \(vq) of \(device.config.name) is served for a foreign driver; it has no room for a vCPU driver")
        }
        memory = mapping.memory
        let area = device.driverAreas[vq]
        guard VCPUDriverArea.bytes(queueSize: device.config.queueSize, depth: depth, maxBlock: maxBlock) <= area.size else {
            throw EngineError.configuration("queue depth \(depth) × \(maxBlock) bytes does not fit the driver area of vq \(vq)")
        }
        guard depth >= 1 && depth <= device.config.queueSize else {
            throw EngineError.configuration("queue depth \(depth) must be 1...\(device.config.queueSize) (the queue size)")
        }
        self.device = device
        self.vq = vq
        self.depth = depth
        self.maxBlock = maxBlock
        dataSlotBytes = VCPUDriverArea.dataSlotBytes(maxBlock: maxBlock)
        self.source = source
        self.stop = stop
        self.cpus = cpus
        self.pollForCompletions = pollForCompletions
        self.clock = clock
        self.realtime = realtime
        // The driver accepts what the device offers; with INDIRECT_DESC (the default, as Linux
        // guests negotiate it) a request takes one ring descriptor, so depth can reach Q.
        let features = device.config.features
        let tables = area.address
        ring = try SplitVirtqueueDriver(layout: device.layouts[vq], memory: memory, features: features,
                                        indirectTables: tables, indirectTableEntries: Self.indirectEntries)
        var cursor = tables + UInt64(device.config.queueSize * Self.indirectEntries * 16)
        headerAddress = cursor
        cursor += UInt64(depth * 16)
        payloadAddress = cursor
        cursor += UInt64(depth * 16)
        statusAddress = cursor
        cursor += UInt64(depth * 16)
        dataAddress = SplitVirtqueueLayout.alignUp(cursor, 4096)
        buffers = .allocate(capacity: depth * 3)
        planned = .allocate(capacity: depth)
        submittedAt = .allocate(capacity: depth)
        freeSlots = Array((0..<depth).reversed())
        statistics.device = device.config.name
        statistics.vq = vq
    }

    deinit {
        buffers.deallocate()
        planned.deallocate()
        submittedAt.deallocate()
    }

    public func start() throws {
        thread = try OSThread.start(name: "vcpu-\(device.config.name)-\(vq)", cpus: cpus) { [self] in run() }
    }

    public func join() {
        thread?.join()
        thread = nil
    }

    /// Waits up to `timeout` for the driver's thread to end; true when it has (or never started).
    func waitFinished(timeout: DispatchTime) -> Bool { thread?.waitFinished(timeout: timeout) ?? true }

    /// Guest address of a slot's data buffer (4 KiB aligned, for O_DIRECT).
    @inline(__always) private func dataAddress(_ slot: Int) -> UInt64 {
        dataAddress + UInt64(slot * dataSlotBytes)
    }

    @inline(__always) private func dataPointer(_ slot: Int) -> UnsafeMutableRawPointer {
        try! memory.pointer(dataAddress(slot), length: UInt64(maxBlock))
    }

    @inline(__always) private func pointer(_ address: UInt64, _ length: Int) -> UnsafeMutableRawPointer {
        try! memory.pointer(address, length: UInt64(length))
    }

    /// Adds `request` in `slot`; returns false when the ring has no room.
    private func add(_ request: PlannedRequest, slot: Int) -> Bool {
        let header = headerAddress + UInt64(slot * 16)
        VirtioBlk.storeHeader(type: request.type.rawValue, sector: request.sector, to: pointer(header, 16))
        let b = buffers + slot * 3
        b[0] = DriverBuffer(address: header, length: 16, writable: false)
        let status = DriverBuffer(address: statusAddress + UInt64(slot * 16), length: 1, writable: true)
        var count = 3
        switch request.type {
        case .read:
            b[1] = DriverBuffer(address: dataAddress(slot), length: request.length, writable: true)
            b[2] = status
        case .write:
            let data = dataPointer(slot)
            source.fill(request, data: data)
            b[1] = DriverBuffer(address: dataAddress(slot), length: request.length, writable: false)
            b[2] = status
        case .discard, .writeZeroes:
            let payload = payloadAddress + UInt64(slot * 16)
            VirtioBlk.storeDiscardSegment(sector: request.sector, sectors: request.length >> 9, flags: 0, to: pointer(payload, 16))
            b[1] = DriverBuffer(address: payload, length: 16, writable: false)
            b[2] = status
        case .flush:
            b[1] = status
            count = 2
        case .getID:
            b[1] = DriverBuffer(address: dataAddress(slot), length: 20, writable: true)
            b[2] = status
        }
        pointer(status.address, 1).storeBytes(of: 0xFF, as: UInt8.self)
        guard ring.add(UnsafeBufferPointer(start: b, count: count), token: UInt64(slot)) != nil else { return false }
        planned[slot] = request
        let now = monotonicNs()
        submittedAt[slot] = now
        if statistics.firstSubmitNs == 0 { statistics.firstSubmitNs = now }
        statistics.lastSubmitNs = now
        if request.deadlineNs > 0 { _ = statistics.lateness.record(now > request.deadlineNs ? now - request.deadlineNs : 0) }
        return true
    }

    private func run() {
        let queue = device.queues[vq]
        // Timed sleeps wake within a few µs instead of the default 50 µs slack.
        linux_set_timer_slack(1_000)
        if realtime { realtimeError = linux_set_realtime(10) }
        _ = ring.enableInterrupts()
        var exhausted = false
        while true {
            // Submit what is due, up to the queue depth.
            var added = 0
            var dueAt: UInt64 = 0
            if !stop.isRaised {
                while !freeSlots.isEmpty {
                    if held == nil {
                        switch source.step(inFlight: depth - freeSlots.count) {
                        case .submit(let request): held = request
                        case .waitForCompletion: break
                        case .exhausted: exhausted = true
                        }
                    }
                    guard let request = held else { break }
                    if request.deadlineNs > 0 && monotonicNs() < request.deadlineNs {
                        dueAt = request.deadlineNs
                        break
                    }
                    let slot = freeSlots.removeLast()
                    guard add(request, slot: slot) else {
                        freeSlots.append(slot)
                        failure = "vq \(vq): ring full with \(depth - freeSlots.count) requests in flight"
                        break
                    }
                    held = nil
                    added += 1
                }
            }
            if added > 0 && ring.publish() {
                _ = linux_eventfd_write(queue.kickFD, 1)
                statistics.kicks += 1
            }
            // Reap what is done.
            var reaped = 0
            do {
                while let used = try ring.reap() {
                    reap(slot: Int(used.token))
                    reaped += 1
                }
            } catch {
                failure = "vq \(vq): \(error)"
                return
            }
            let inFlight = depth - freeSlots.count
            if inFlight == 0 && (stop.isRaised || (exhausted && held == nil)) { return }
            if reaped > 0 { continue }
            if inFlight == 0 && dueAt == 0 { continue }

            // Wait: for a completion, for the next deadline, or both.
            if dueAt > 0 {
                let now = monotonicNs()
                if dueAt > now + spinNs {
                    if inFlight > 0 {
                        if !ring.enableInterrupts() && linux_wait_readable(queue.callFD, Int64(dueAt - now - spinNs)) > 0 {
                            var value: UInt64 = 0
                            _ = linux_eventfd_read(queue.callFD, &value)
                            statistics.interrupts += 1
                        }
                    } else {
                        linux_sleep_until(dueAt - spinNs)
                    }
                } else {
                    // The last microseconds: spin, reaping what completes meanwhile.
                    while monotonicNs() < dueAt && !ring.hasUsed {}
                }
            } else if ring.enableInterrupts() {
                continue
            } else if pollForCompletions {
                while !ring.hasUsed && !device.isBroken {}
            } else {
                var value: UInt64 = 0
                while linux_eventfd_read(queue.callFD, &value) != 0 {
                    if errno != EINTR { break }
                }
                statistics.interrupts += 1
            }
            if device.isBroken {
                failure = "device \(device.config.name) is broken: \(device.brokenReason ?? "")"
                return
            }
        }
    }

    @inline(__always) private func reap(slot: Int) {
        let now = monotonicNs()
        let latency = now - submittedAt[slot]
        let request = planned[slot]
        let status = pointer(statusAddress + UInt64(slot * 16), 1).load(as: UInt8.self)
        source.completed(request, status: status, data: dataPointer(slot))
        if status != 0 { statistics.errors += 1 }
        switch request.type {
        case .read:
            statistics.reads += 1
            statistics.bytesRead += UInt64(request.length)
            _ = statistics.readLatency.record(latency)
        case .write:
            statistics.writes += 1
            statistics.bytesWritten += UInt64(request.length)
            _ = statistics.writeLatency.record(latency)
        default:
            statistics.others += 1
        }
        let epoch = clock.epochNs
        if epoch > 0 {
            // A completion before the epoch (afap and closed drivers start at once, the epoch is
            // set a little ahead) counts in the first bucket: the timeline holds every request.
            let bucket = now > epoch ? Int((now - epoch) / QueueStatistics.timelineBucketNs) : 0
            // Grows by one bucket per 100 ms: an allocation every few thousand requests at most.
            while statistics.timeline.count <= bucket { statistics.timeline.append(0) }
            statistics.timeline[bucket] += 1
        }
        freeSlots.append(slot)
    }
}
