import CRingAtomics

/// One buffer the driver puts in a chain: a guest-physical range and its direction.
public struct DriverBuffer: Sendable, Equatable {
    public var address: UInt64
    public var length: UInt32
    /// Device-writable (an IN buffer or the status byte) rather than device-readable.
    public var writable: Bool
    public init(address: UInt64, length: UInt32, writable: Bool) {
        self.address = address
        self.length = length
        self.writable = writable
    }
}

/// A chain the device returned through the used ring.
public struct UsedElement: Sendable, Equatable {
    public var head: UInt16
    /// Bytes the device says it wrote.
    public var length: UInt32
    /// The caller's token given to `add`.
    public var token: UInt64
}

/// The driver side of one split virtqueue (what a guest's virtio-blk driver does): owns the
/// descriptor free list, adds chains, publishes them, decides when to kick, and reaps used
/// elements. vqtrace's vCPU threads and the tests use it to feed devices.
///
/// The descriptor chain order and free list are kept in private memory, so a misbehaving
/// device can corrupt at most the ring contents, never the driver's bookkeeping; used ids are
/// checked before they are trusted.
public final class SplitVirtqueueDriver: @unchecked Sendable {
    public let layout: SplitVirtqueueLayout
    public let memory: GuestMemory
    public let eventIndex: Bool
    /// Guest-physical base of the per-head indirect tables, or nil when chains are direct.
    public let indirectTables: UInt64?
    /// Descriptors per indirect table.
    public let indirectTableEntries: Int

    private let queueSize: Int
    private let mask: UInt16
    private let descriptors: UnsafeMutableRawPointer
    private let avail: UnsafeMutableRawPointer
    private let used: UnsafeMutableRawPointer
    private let indirectHost: UnsafeMutableRawPointer?
    private let usedEventOffset: Int
    private let availEventOffset: Int

    // Free list threaded through `nextFree`; chains keep their order in it while in flight.
    private let nextFree: UnsafeMutablePointer<UInt16>
    // One driver thread owns this side of the queue: the runtime exclusivity checks on these
    // indices cost as much as the ring work itself, so they are off (static checking stays).
    @exclusivity(unchecked) private var freeHead: UInt16 = 0
    /// Descriptors not in use.
    @exclusivity(unchecked) public private(set) var freeCount: Int
    // Per head: descriptors the chain holds (0 = not in flight) and the caller's token.
    private let chainLength: UnsafeMutablePointer<UInt16>
    private let tokens: UnsafeMutablePointer<UInt64>

    @exclusivity(unchecked) private var availIndex: UInt16 = 0
    @exclusivity(unchecked) private var publishedAvailIndex: UInt16 = 0
    @exclusivity(unchecked) private var lastUsedIndex: UInt16 = 0
    @exclusivity(unchecked) private var shadowUsedIndex: UInt16 = 0
    /// Chains added and not yet reaped.
    @exclusivity(unchecked) public private(set) var inFlight: Int = 0

    /// Initializes the rings at `layout` (zeroes them) and attaches the driver.
    /// - Parameters:
    ///   - features: EVENT_IDX changes notification; INDIRECT_DESC needs `indirectTables`.
    ///   - indirectTables: guest address of Q tables of `indirectTableEntries` descriptors each.
    public init(layout: SplitVirtqueueLayout, memory: GuestMemory, features: VirtioFeatures,
                indirectTables: UInt64? = nil, indirectTableEntries: Int = 0) throws(VirtqueueError) {
        let q = layout.queueSize
        let rings = try SplitRingPointers(layout: layout, memory: memory)
        var indirect: UnsafeMutableRawPointer? = nil
        if features.contains(.indirectDescriptors), let base = indirectTables, indirectTableEntries > 0 {
            let bytes = UInt64(q) * UInt64(indirectTableEntries) * 16
            guard let host = memory.translate(base, length: bytes) else {
                throw .ringOutsideMemory(part: "indirect tables", address: base, length: bytes)
            }
            indirect = host
        }
        self.layout = layout
        self.memory = memory
        self.eventIndex = features.contains(.eventIndex)
        self.indirectTables = indirect == nil ? nil : indirectTables
        self.indirectTableEntries = indirect == nil ? 0 : indirectTableEntries
        self.queueSize = q
        self.mask = UInt16(truncatingIfNeeded: q - 1)
        self.descriptors = rings.descriptors
        self.avail = rings.avail
        self.used = rings.used
        self.indirectHost = indirect
        self.usedEventOffset = SplitVirtqueueLayout.usedEventOffset(q)
        self.availEventOffset = SplitVirtqueueLayout.availEventOffset(q)
        self.nextFree = .allocate(capacity: q)
        for i in 0..<q { nextFree[i] = UInt16(truncatingIfNeeded: i + 1) }
        self.freeCount = q
        self.chainLength = .allocate(capacity: q)
        chainLength.initialize(repeating: 0, count: q)
        self.tokens = .allocate(capacity: q)
        tokens.initialize(repeating: 0, count: q)
        rings.descriptors.initializeMemory(as: UInt8.self, repeating: 0, count: layout.descriptorTableSize)
        rings.avail.initializeMemory(as: UInt8.self, repeating: 0, count: layout.availRingSize)
        rings.used.initializeMemory(as: UInt8.self, repeating: 0, count: layout.usedRingSize)
    }

    deinit {
        nextFree.deallocate()
        chainLength.deallocate()
        tokens.deallocate()
    }

    public var size: Int { queueSize }

    private static func flags(writable: Bool, last: Bool) -> VirtqDescriptorFlags {
        var flags: VirtqDescriptorFlags = writable ? .write : []
        if !last { flags.insert(.next) }
        return flags
    }

    /// Adds a chain of `buffers` (readable ones first) and writes its ring entry; the device
    /// sees it only after `publish()`. Returns the head, or nil when descriptors ran out.
    ///
    /// With indirect tables configured, a chain of two or more buffers takes one descriptor.
    public func add(_ buffers: UnsafeBufferPointer<DriverBuffer>, token: UInt64) -> UInt16? {
        precondition(!buffers.isEmpty, "a chain needs at least one buffer")
        let head: UInt16
        if let indirectHost, buffers.count > 1, buffers.count <= indirectTableEntries {
            guard freeCount >= 1 else { return nil }
            head = freeHead
            freeHead = nextFree[Int(head)]
            freeCount -= 1
            let tableHost = indirectHost + Int(head) * indirectTableEntries * 16
            for (i, buffer) in buffers.enumerated() {
                let last = i == buffers.count - 1
                VirtqDescriptor(address: buffer.address, length: buffer.length,
                                flags: Self.flags(writable: buffer.writable, last: last),
                                next: last ? 0 : UInt16(i + 1)).store(to: tableHost + 16 * i)
            }
            let tableAddress = indirectTables! + UInt64(Int(head) * indirectTableEntries * 16)
            VirtqDescriptor(address: tableAddress, length: UInt32(buffers.count * 16), flags: .indirect)
                .store(to: descriptors + 16 * Int(head))
            chainLength[Int(head)] = 1
        } else {
            guard buffers.count <= freeCount else { return nil }
            head = freeHead
            var index = head
            for (i, buffer) in buffers.enumerated() {
                let last = i == buffers.count - 1
                let next = nextFree[Int(index)]
                VirtqDescriptor(address: buffer.address, length: buffer.length,
                                flags: Self.flags(writable: buffer.writable, last: last),
                                next: last ? 0 : next).store(to: descriptors + 16 * Int(index))
                if !last { index = next }
            }
            freeHead = nextFree[Int(index)]
            freeCount -= buffers.count
            chainLength[Int(head)] = UInt16(buffers.count)
        }
        tokens[Int(head)] = token
        let slot = Int(availIndex & mask)
        avail.storeBytes(of: head.littleEndian, toByteOffset: SplitVirtqueueLayout.ringEntriesOffset + 2 * slot, as: UInt16.self)
        availIndex &+= 1
        inFlight += 1
        return head
    }

    /// Publishes every chain added since the last call and says whether the device wants a kick.
    public func publish() -> Bool {
        let old = publishedAvailIndex
        let new = availIndex
        if old == new { return false }
        publishedAvailIndex = new
        return publishRingIndex(avail + SplitVirtqueueLayout.ringIndexOffset, new: new, old: old,
                                peerEvent: eventIndex ? used + availEventOffset : nil,
                                peerFlags: used + SplitVirtqueueLayout.ringFlagsOffset, suppressBit: VirtqRingFlags.noNotify)
    }

    /// Takes the next used element, if any, and frees its descriptors.
    /// - Throws: when the device broke the protocol (an id not in flight, a used.idx jump).
    public func reap() throws(VirtqueueError) -> UsedElement? {
        if lastUsedIndex == shadowUsedIndex {
            let index = vq_load_acquire_u16(used + SplitVirtqueueLayout.ringIndexOffset)
            if Int(index &- lastUsedIndex) > queueSize {
                throw .usedIndexJump(lastSeen: lastUsedIndex, usedIndex: index, queueSize: queueSize)
            }
            shadowUsedIndex = index
            if index == lastUsedIndex { return nil }
        }
        let element = used + SplitVirtqueueLayout.ringEntriesOffset + SplitVirtqueueLayout.usedElementSize * Int(lastUsedIndex & mask)
        let id = UInt32(littleEndian: element.loadUnaligned(as: UInt32.self))
        let length = UInt32(littleEndian: element.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        guard id < UInt32(queueSize), chainLength[Int(id)] != 0 else { throw .usedIdNotInFlight(id: id) }
        let head = UInt16(truncatingIfNeeded: id)
        let count = Int(chainLength[Int(head)])
        var tail = head
        for _ in 1..<max(count, 1) { tail = nextFree[Int(tail)] }
        nextFree[Int(tail)] = freeHead
        freeHead = head
        freeCount += count
        chainLength[Int(head)] = 0
        lastUsedIndex &+= 1
        inFlight -= 1
        return UsedElement(head: head, length: length, token: tokens[Int(head)])
    }

    /// Asks the device for an interrupt on the next used element and re-checks the ring.
    /// Returns true when used elements are already waiting (reap them: no interrupt will come).
    public func enableInterrupts() -> Bool {
        if eventIndex {
            vq_store_relaxed_u16(avail + usedEventOffset, lastUsedIndex.littleEndian)
        } else {
            let flags = UInt16(littleEndian: vq_load_relaxed_u16(avail + SplitVirtqueueLayout.ringFlagsOffset))
            vq_store_relaxed_u16(avail + SplitVirtqueueLayout.ringFlagsOffset, (flags & ~VirtqRingFlags.noInterrupt).littleEndian)
        }
        vq_fence_seq_cst()
        return vq_load_acquire_u16(used + SplitVirtqueueLayout.ringIndexOffset) != lastUsedIndex
    }

    /// Whether the device has used elements the driver has not reaped (for polling drivers).
    public var hasUsed: Bool {
        vq_load_acquire_u16(used + SplitVirtqueueLayout.ringIndexOffset) != lastUsedIndex
    }

    /// Tells the device interrupts are not wanted (the driver is polling).
    public func disableInterrupts() {
        if eventIndex {
            // An event index just behind ours is only crossed again after 2^16 completions.
            vq_store_relaxed_u16(avail + usedEventOffset, (lastUsedIndex &- 1).littleEndian)
        } else {
            let flags = UInt16(littleEndian: vq_load_relaxed_u16(avail + SplitVirtqueueLayout.ringFlagsOffset))
            vq_store_relaxed_u16(avail + SplitVirtqueueLayout.ringFlagsOffset, (flags | VirtqRingFlags.noInterrupt).littleEndian)
        }
    }
}
