import CRingAtomics

/// Host pointers to the three parts of a split ring, each checked once to lie wholly in guest
/// memory, so that every later ring access (at offsets below the part's size) stays inside.
struct SplitRingPointers {
    let descriptors: UnsafeMutableRawPointer
    let avail: UnsafeMutableRawPointer
    let used: UnsafeMutableRawPointer

    init(layout: SplitVirtqueueLayout, memory: GuestMemory) throws(VirtqueueError) {
        func part(_ name: String, _ address: UInt64, _ size: Int) throws(VirtqueueError) -> UnsafeMutableRawPointer {
            guard let pointer = memory.translate(address, length: UInt64(size)) else {
                throw .ringOutsideMemory(part: name, address: address, length: UInt64(size))
            }
            return pointer
        }
        descriptors = try part("descriptor table", layout.descriptorTable, layout.descriptorTableSize)
        avail = try part("available ring", layout.availRing, layout.availRingSize)
        used = try part("used ring", layout.usedRing, layout.usedRingSize)
    }
}

/// Publishes our ring index and decides whether the peer wants to hear about it. The same
/// protocol on both sides: the driver publishes avail.idx (peer: the device's avail_event or
/// used.flags NO_NOTIFY), the device publishes used.idx (peer: used_event or NO_INTERRUPT).
///
/// - Parameters:
///   - index: our index field (avail.idx or used.idx).
///   - peerEvent: the peer's event index field when EVENT_IDX was negotiated, else nil.
///   - peerFlags: the peer's flags field, read when there is no event index.
///   - suppressBit: the flag by which the peer declines notifications.
@inline(__always)
func publishRingIndex(_ index: UnsafeMutableRawPointer, new: UInt16, old: UInt16,
                      peerEvent: UnsafeMutableRawPointer?, peerFlags: UnsafeMutableRawPointer, suppressBit: UInt16) -> Bool {
    // Release: the entries are visible before the index that covers them.
    vq_store_release_u16(index, new.littleEndian)
    // Store (our index) then load (the peer's event or flags): only a full fence orders these;
    // without it both sides can miss each other's update and a request hangs.
    vq_fence_seq_cst()
    if let peerEvent {
        let event = UInt16(littleEndian: vq_load_relaxed_u16(peerEvent))
        return virtqNeedEvent(event: event, new: new, old: old)
    }
    return UInt16(littleEndian: vq_load_relaxed_u16(peerFlags)) & suppressBit == 0
}
