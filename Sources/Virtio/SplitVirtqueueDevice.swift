import CRingAtomics

/// The device side of one split virtqueue: pops descriptor chains the driver made available,
/// returns them through the used ring, and decides when to interrupt the driver.
///
/// Every value read from the rings is treated as hostile. A chain that breaks a rule of the
/// protocol marks the queue broken (like QEMU's `virtio_error`): `brokenReason` says why, and
/// the queue serves nothing more until `reset`. No input makes it trap or touch memory outside
/// `GuestMemory`.
///
/// Not thread-safe: one IOThread owns a queue at a time. It shares ring memory with the driver,
/// which may run on another thread or in another process; the orderings are:
/// - `avail.idx` is loaded with acquire before the entries it covers are read;
/// - used elements are written, then `used.idx` is stored with release;
/// - a full fence separates publishing `used.idx` from reading `used_event`/`avail.flags`, and
///   re-enabling notifications from re-checking `avail.idx` (otherwise a kick can be lost).
public final class SplitVirtqueueDevice: @unchecked Sendable {
    public let layout: SplitVirtqueueLayout
    public let memory: GuestMemory
    /// Index of this queue in its device, used in error messages.
    public let queueIndex: Int
    public let eventIndex: Bool
    public let indirectDescriptors: Bool

    let queueSize: Int
    let mask: UInt16
    let descriptors: UnsafeMutableRawPointer
    let avail: UnsafeMutableRawPointer
    let used: UnsafeMutableRawPointer
    let usedEventOffset: Int
    let availEventOffset: Int

    // One IOThread owns the queue (see above): the runtime exclusivity checks on these indices
    // were a quarter of a virtqueue round trip, so they are off (static checking stays).
    /// Next available-ring entry to consume.
    @exclusivity(unchecked) public private(set) var lastAvailIndex: UInt16
    // The last value read from avail.idx; entries up to it are known to be published.
    @exclusivity(unchecked) var shadowAvailIndex: UInt16
    /// Next used-ring entry to fill.
    @exclusivity(unchecked) public private(set) var usedIndex: UInt16
    // The value of used.idx the driver can see.
    @exclusivity(unchecked) var publishedUsedIndex: UInt16
    // One bit per head descriptor: set while the chain is in flight (popped, not yet pushed).
    let inFlightBits: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) public private(set) var inFlightCount: Int = 0
    /// Why the queue stopped serving, or nil while it is healthy.
    @exclusivity(unchecked) public private(set) var brokenReason: VirtqueueError?
    @exclusivity(unchecked) private var notificationsEnabled = true

    /// Attaches to a queue whose rings the driver placed at `layout`.
    /// - Parameters:
    ///   - features: the negotiated features; EVENT_IDX and INDIRECT_DESC change ring behaviour.
    ///   - lastAvailIndex: where to resume (vhost-user SET_VRING_BASE); 0 for a fresh queue.
    public init(layout: SplitVirtqueueLayout, memory: GuestMemory, features: VirtioFeatures,
                queueIndex: Int = 0, lastAvailIndex: UInt16 = 0, usedIndex: UInt16? = nil) throws(VirtqueueError) {
        let q = layout.queueSize
        let rings = try SplitRingPointers(layout: layout, memory: memory)
        self.layout = layout
        self.memory = memory
        self.queueIndex = queueIndex
        self.eventIndex = features.contains(.eventIndex)
        self.indirectDescriptors = features.contains(.indirectDescriptors)
        self.queueSize = q
        self.mask = UInt16(truncatingIfNeeded: q - 1)
        self.descriptors = rings.descriptors
        self.avail = rings.avail
        self.used = rings.used
        self.usedEventOffset = SplitVirtqueueLayout.usedEventOffset(q)
        self.availEventOffset = SplitVirtqueueLayout.availEventOffset(q)
        self.lastAvailIndex = lastAvailIndex
        self.shadowAvailIndex = lastAvailIndex
        let resumeUsed = usedIndex ?? lastAvailIndex
        self.usedIndex = resumeUsed
        self.publishedUsedIndex = resumeUsed
        let words = (q + 63) / 64
        self.inFlightBits = .allocate(capacity: words)
        self.inFlightBits.initialize(repeating: 0, count: words)
    }

    deinit { inFlightBits.deallocate() }

    /// The queue size Q.
    public var size: Int { queueSize }

    /// True when the driver has published entries the device has not popped yet.
    public var hasAvailable: Bool {
        vq_load_acquire_u16(avail + SplitVirtqueueLayout.ringIndexOffset) != lastAvailIndex
    }

    /// Pops the next available chain, translating and checking every descriptor.
    ///
    /// - Parameter storage: where the chain's segments are written; its capacity bounds the
    ///   chain length the caller accepts (pass at least Q for direct chains). Reused by the caller.
    /// - Returns: the chain, or nil when the ring is empty.
    /// - Throws: a `VirtqueueError` naming the broken rule; the queue is then broken.
    public func pop(into storage: UnsafeMutableBufferPointer<ChainSegment>) throws(VirtqueueError) -> DescriptorChain? {
        if let reason = brokenReason { throw .broken(reason.description) }
        if lastAvailIndex == shadowAvailIndex {
            // Acquire: the ring entries and descriptors published before this index are visible.
            let index = vq_load_acquire_u16(avail + SplitVirtqueueLayout.ringIndexOffset)
            let pending = Int(index &- lastAvailIndex)
            if pending > queueSize {
                throw fail(.availIndexJump(lastSeen: lastAvailIndex, availIndex: index, queueSize: queueSize))
            }
            shadowAvailIndex = index
            if pending == 0 { return nil }
        }
        let slot = Int(lastAvailIndex & mask)
        let head = UInt16(littleEndian: avail.loadUnaligned(
            fromByteOffset: SplitVirtqueueLayout.ringEntriesOffset + 2 * slot, as: UInt16.self))
        guard Int(head) < queueSize else {
            throw fail(.headOutOfRange(ringSlot: slot, head: head, queueSize: queueSize))
        }
        let word = Int(head >> 6)
        let bit = UInt64(1) << UInt64(head & 63)
        if inFlightBits[word] & bit != 0 { throw fail(.headAlreadyInFlight(head: head)) }
        if inFlightCount >= queueSize { throw fail(.tooManyInFlight(queueSize: queueSize)) }

        let chain = try walkChain(head: head, into: storage)
        lastAvailIndex &+= 1
        inFlightBits[word] |= bit
        inFlightCount += 1
        // With EVENT_IDX and notifications on, tell the driver which entry to kick for next
        // (QEMU's virtqueue_pop does the same).
        if eventIndex && notificationsEnabled {
            vq_store_relaxed_u16(used + availEventOffset, lastAvailIndex.littleEndian)
        }
        return chain
    }

    private func walkChain(head: UInt16, into storage: UnsafeMutableBufferPointer<ChainSegment>) throws(VirtqueueError) -> DescriptorChain {
        var table = UnsafeRawPointer(descriptors)
        var tableEntries = queueSize
        var inIndirect = false
        var index = head
        var visited = 0
        var count = 0
        var readableCount = 0
        var readableBytes: UInt64 = 0
        var writableBytes: UInt64 = 0
        while true {
            // Each descriptor is read once; all checks use this copy.
            let descriptor = VirtqDescriptor(loadingFrom: table + 16 * Int(index))
            visited += 1
            // Loop detection: a chain cannot visit more descriptors than its table has.
            if visited > tableEntries {
                throw fail(.chainTooLong(head: head, limit: tableEntries))
            }
            if descriptor.flags.contains(.indirect) {
                if inIndirect { throw fail(.indirectNested(descriptor: head, entry: Int(index))) }
                if !indirectDescriptors { throw fail(.indirectNotNegotiated(descriptor: index)) }
                if descriptor.flags.contains(.next) { throw fail(.indirectWithNext(descriptor: index)) }
                if descriptor.length == 0 || descriptor.length % 16 != 0 {
                    throw fail(.indirectBadLength(descriptor: index, length: descriptor.length))
                }
                guard let indirectTable = memory.translate(descriptor.address, length: UInt64(descriptor.length)) else {
                    throw fail(.indirectTableOutsideMemory(descriptor: index, address: descriptor.address, length: descriptor.length))
                }
                table = UnsafeRawPointer(indirectTable)
                tableEntries = Int(descriptor.length / 16)
                inIndirect = true
                visited = 0
                index = 0
                continue
            }
            if descriptor.length == 0 { throw fail(.zeroLengthBuffer(descriptor: index)) }
            guard let host = memory.translate(descriptor.address, length: UInt64(descriptor.length)) else {
                throw fail(.bufferOutsideMemory(descriptor: index, address: descriptor.address, length: descriptor.length))
            }
            let writable = descriptor.flags.contains(.write)
            if writable {
                writableBytes &+= UInt64(descriptor.length)
            } else {
                if writableBytes != 0 { throw fail(.readableAfterWritable(descriptor: index)) }
                readableCount += 1
                readableBytes &+= UInt64(descriptor.length)
            }
            if count == storage.count { throw fail(.chainTooLong(head: head, limit: storage.count)) }
            storage[count] = ChainSegment(guestAddress: descriptor.address, host: host,
                                          length: descriptor.length, writable: writable)
            count += 1
            if !descriptor.flags.contains(.next) { break }
            guard Int(descriptor.next) < tableEntries else {
                throw fail(.nextOutOfRange(descriptor: index, next: descriptor.next, limit: tableEntries))
            }
            index = descriptor.next
        }
        return DescriptorChain(head: head, segments: UnsafeBufferPointer(rebasing: storage[0..<count]),
                               readableCount: readableCount, readableBytes: readableBytes, writableBytes: writableBytes)
    }

    /// Puts a completed chain in the used ring (not yet visible to the driver: see `publishUsed`).
    /// - Parameter length: bytes the device wrote into the chain's writable buffers.
    public func pushUsed(head: UInt16, length: UInt32) {
        let word = Int(head >> 6)
        let bit = UInt64(1) << UInt64(head & 63)
        precondition(Int(head) < queueSize && inFlightBits[word] & bit != 0,
                     "pushUsed of head \(head), which is not in flight on queue \(queueIndex)")
        inFlightBits[word] &= ~bit
        inFlightCount -= 1
        let element = used + SplitVirtqueueLayout.ringEntriesOffset + SplitVirtqueueLayout.usedElementSize * Int(usedIndex & mask)
        element.storeBytes(of: UInt32(head).littleEndian, as: UInt32.self)
        element.storeBytes(of: length.littleEndian, toByteOffset: 4, as: UInt32.self)
        usedIndex &+= 1
    }

    /// Makes every pushed element visible to the driver and says whether to interrupt it:
    /// one decision per batch, which is how interrupts are coalesced.
    public func publishUsed() -> Bool {
        let old = publishedUsedIndex
        let new = usedIndex
        if old == new { return false }
        publishedUsedIndex = new
        return publishRingIndex(used + SplitVirtqueueLayout.ringIndexOffset, new: new, old: old,
                                peerEvent: eventIndex ? avail + usedEventOffset : nil,
                                peerFlags: avail + SplitVirtqueueLayout.ringFlagsOffset, suppressBit: VirtqRingFlags.noInterrupt)
    }

    /// Asks the driver not to kick (the device is about to drain the ring anyway).
    public func disableNotifications() {
        notificationsEnabled = false
        // With EVENT_IDX nothing is written: the driver only kicks when it crosses avail_event,
        // which stays behind while the device drains (QEMU does the same).
        if !eventIndex {
            let flags = UInt16(littleEndian: vq_load_relaxed_u16(used + SplitVirtqueueLayout.ringFlagsOffset))
            vq_store_relaxed_u16(used + SplitVirtqueueLayout.ringFlagsOffset, (flags | VirtqRingFlags.noNotify).littleEndian)
        }
    }

    /// Re-enables kicks and re-checks the ring. Returns true when entries arrived meanwhile:
    /// the caller must drain again, because the driver may have published them while kicks
    /// were off and will not kick for them.
    public func enableNotifications() -> Bool {
        notificationsEnabled = true
        if eventIndex {
            vq_store_relaxed_u16(used + availEventOffset, lastAvailIndex.littleEndian)
        } else {
            let flags = UInt16(littleEndian: vq_load_relaxed_u16(used + SplitVirtqueueLayout.ringFlagsOffset))
            vq_store_relaxed_u16(used + SplitVirtqueueLayout.ringFlagsOffset, (flags & ~VirtqRingFlags.noNotify).littleEndian)
        }
        // Store (event/flags) then load (avail.idx): a full fence, or a kick can be lost.
        vq_fence_seq_cst()
        return hasAvailable
    }

    /// Forgets all state (virtio reset): in-flight chains are dropped, indices return to 0.
    public func reset(lastAvailIndex: UInt16 = 0) {
        self.lastAvailIndex = lastAvailIndex
        shadowAvailIndex = lastAvailIndex
        usedIndex = lastAvailIndex
        publishedUsedIndex = lastAvailIndex
        inFlightBits.update(repeating: 0, count: (queueSize + 63) / 64)
        inFlightCount = 0
        brokenReason = nil
        notificationsEnabled = true
    }

    /// Whether `head` is currently in flight on this queue.
    public func isInFlight(_ head: UInt16) -> Bool {
        Int(head) < queueSize && inFlightBits[Int(head >> 6)] & (UInt64(1) << UInt64(head & 63)) != 0
    }

    private func fail(_ error: VirtqueueError) -> VirtqueueError {
        brokenReason = error
        return error
    }

    /// `brokenReason` with the queue named, for logs and run results.
    public var brokenDescription: String? {
        brokenReason.map { "queue \(queueIndex): \($0)" }
    }
}

/// Flag bits of `avail.flags` and `used.flags`.
public enum VirtqRingFlags {
    /// In `used.flags`: the device does not need kicks (ignored with EVENT_IDX).
    public static let noNotify: UInt16 = 1
    /// In `avail.flags`: the driver does not need interrupts (ignored with EVENT_IDX).
    public static let noInterrupt: UInt16 = 1
}
