import CLinuxShim
import Histogram
import Synchronization
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// What a vCPU driver waits for after `service()`: its driver thread sleeps until the earliest
/// of its drivers' waits, armed for an interrupt from every driver with requests in flight, and
/// polls their used rings while it is awake.
enum DriverWait: Equatable {
    /// The deadline of the request it holds.
    case deadline(UInt64)
    /// Only a completion.
    case completion
    /// Its source's data (a trace feed behind): ask again soon.
    case source
    /// Nothing: exhausted and drained, stopped and drained, or failed.
    case finished
}

/// The guest side of one virtqueue: the virtio-blk driver of one vCPU. It keeps up to `depth`
/// requests in flight from its source, kicks the queue's ioeventfd when the ring asks for it,
/// and reaps completions (its irqfd tells its driver thread), recording each request's latency.
///
/// A driver has no thread of its own: a `DriverThread` serves one or several, calling
/// `service()` when a deadline falls or a completion arrives. Requests of this vq go only onto
/// this vq's ring, in the source's order.
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
    /// The request the source gave that waits for its deadline (or for a free slot).
    @exclusivity(unchecked) private var held: PlannedRequest?
    /// Slots added to the ring since the last publish: their submit time (and lateness) is
    /// taken when the device is told, not when they were written.
    private let unpublished: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) private var unpublishedCount = 0
    @exclusivity(unchecked) private var exhausted = false
    @exclusivity(unchecked) private(set) var isFinished = false
    /// The first error that stopped the driver (a ring the device broke, say).
    @exclusivity(unchecked) public private(set) var failure: String?

    static var indirectEntries: Int { VCPUDriverArea.indirectEntries }

    public init(device: VirtioBlkDevice, vq: Int, source: Source, depth: Int, maxBlock: Int, stop: StopFlag,
                pollForCompletions: Bool = false, clock: RunClock = RunClock()) throws {
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
        self.pollForCompletions = pollForCompletions
        self.clock = clock
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
        unpublished = .allocate(capacity: depth)
        freeSlots = Array((0..<depth).reversed())
        statistics.device = device.config.name
        statistics.vq = vq
    }

    deinit {
        buffers.deallocate()
        planned.deallocate()
        submittedAt.deallocate()
        unpublished.deallocate()
    }

    /// The irqfd its driver thread waits on.
    var callFD: Int32 { device.queues[vq].callFD }
    /// Whether the device has completed requests not reaped yet (for polling driver threads).
    var hasCompletions: Bool { ring.hasUsed }
    var inFlight: Int { depth - freeSlots.count }

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
        unpublished[unpublishedCount] = slot
        unpublishedCount += 1
        return true
    }

    /// Publishes what was added, kicks when the ring asks for it, and stamps those requests with
    /// the moment the device could see them: their submit time and their lateness.
    private func notify() {
        guard unpublishedCount > 0 else { return }
        let now = monotonicNs()
        accountInFlight(now, added: unpublishedCount)
        if ring.publish() {
            let endpoint = device.queues[vq]
            endpoint.lastKickNs.store(now, ordering: .relaxed)
            _ = linux_eventfd_write(endpoint.kickFD, 1)
            statistics.kicks += 1
        }
        for i in 0..<unpublishedCount {
            let slot = unpublished[i]
            submittedAt[slot] = now
            planned[slot].submittedNs = now
            let deadline = planned[slot].deadlineNs
            if deadline > 0 { _ = statistics.lateness.record(now > deadline ? now - deadline : 0) }
        }
        unpublishedCount = 0
        if statistics.firstSubmitNs == 0 { statistics.firstSubmitNs = now }
        statistics.lastSubmitNs = now
    }

    /// Stops the driver for good with `reason`; its source hears that it was abandoned.
    private func fail(_ reason: String) -> DriverWait {
        if failure == nil { failure = reason }
        isFinished = true
        source.abandoned()
        return .finished
    }

    /// The irqfd said something: counts the interrupt (its value is read, so the wait re-arms)
    /// and how long it took from the device's signal to this wake-up.
    func interrupted() {
        let endpoint = device.queues[vq]
        var value: UInt64 = 0
        while linux_eventfd_read(endpoint.callFD, &value) != 0 {
            if errno != EINTR { return }
        }
        statistics.interrupts += 1
        let sent = endpoint.lastCallNs.load(ordering: .relaxed)
        let now = monotonicNs()
        if sent > 0 && now > sent { statistics.interruptToWakeNs += now - sent }
    }

    /// Adds the requests in flight since the last change, weighted by how long they were: the
    /// driver's side of "how many requests does the device really hold?". The `added` requests
    /// just went into the ring and were not in flight before.
    @inline(__always) private func accountInFlight(_ now: UInt64, added: Int = 0) {
        if statistics.inFlightSinceNs > 0 && now > statistics.inFlightSinceNs {
            statistics.inFlightAreaNs &+= UInt64(depth - freeSlots.count - added) &* (now - statistics.inFlightSinceNs)
            statistics.inFlightSpanNs &+= now - statistics.inFlightSinceNs
        }
        statistics.inFlightSinceNs = now
        statistics.maxInFlight = max(statistics.maxInFlight, depth - freeSlots.count)
    }

    /// Interrupts start off: the driver thread arms them only before it sleeps.
    func begin() { ring.disableInterrupts() }

    /// Asks for an interrupt on the next completion, before the driver thread sleeps; true when
    /// completions are already waiting (serve instead of sleeping: no interrupt will come).
    func armInterrupts() -> Bool { ring.enableInterrupts() }

    /// The driver thread is awake again: completions are polled, so the device need not signal
    /// them (each signal is an eventfd write on the IOThread).
    func disarmInterrupts() { ring.disableInterrupts() }

    /// Submits what is due (up to the depth), tells the device, reaps what completed, and says
    /// what the driver waits for next. Never blocks: a source whose data is not there says so.
    func service() -> DriverWait {
        if isFinished { return .finished }
        while true {
            var dueAt: UInt64 = 0
            var sourceBehind = false
            if !stop.isRaised {
                var now: UInt64 = 0
                while !freeSlots.isEmpty {
                    if held == nil && !exhausted {
                        switch source.step(inFlight: depth - freeSlots.count) {
                        case .submit(let request): held = request
                        case .waitForCompletion: break
                        case .exhausted: exhausted = true
                        case .notReady: sourceBehind = true
                        }
                    }
                    guard let request = held else { break }
                    if request.deadlineNs > 0 && now < request.deadlineNs {
                        now = monotonicNs()
                        if now < request.deadlineNs {
                            dueAt = request.deadlineNs
                            break
                        }
                    }
                    let slot = freeSlots.removeLast()
                    guard add(request, slot: slot) else {
                        freeSlots.append(slot)
                        notify()
                        return fail("vq \(vq): ring full with \(depth - freeSlots.count) requests in flight")
                    }
                    held = nil
                }
            }
            // Before anything else: a request is late from its deadline to this moment.
            notify()
            var reaped = 0
            do {
                while let used = try ring.reap() {
                    reap(slot: Int(used.token))
                    reaped += 1
                }
            } catch {
                return fail("vq \(vq): \(error)")
            }
            let inFlight = depth - freeSlots.count
            if inFlight == 0 && (stop.isRaised || (exhausted && held == nil)) {
                isFinished = true
                return .finished
            }
            if reaped > 0 { continue }  // slots came free, or the source may go on
            if device.isBroken { return fail("device \(device.config.name) is broken: \(device.brokenReason ?? "")") }
            if dueAt > 0 { return .deadline(dueAt) }
            if sourceBehind { return .source }
            if inFlight > 0 { return .completion }
            // Nothing in flight and nothing to send yet (a closed source waiting on a depth that
            // only the clock changes): ask again soon rather than spin here.
            return .source
        }
    }

    @inline(__always) private func reap(slot: Int) {
        let now = monotonicNs()
        let latency = now - submittedAt[slot]
        let request = planned[slot]
        let status = pointer(statusAddress + UInt64(slot * 16), 1).load(as: UInt8.self)
        accountInFlight(now)
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
