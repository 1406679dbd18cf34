/// A violation of the split-virtqueue protocol, found while setting up or serving a queue.
///
/// Raised by the device side when the driver breaks a rule (the queue is then marked broken, as
/// QEMU's `virtio_error` does) and by the driver side when the device does. The text names the
/// descriptor index and field involved; `SplitVirtqueueDevice.brokenReason` prefixes the queue.
public enum VirtqueueError: Error, Equatable, Sendable, CustomStringConvertible {
    // Setup.
    case invalidQueueSize(Int)
    case misalignedRing(part: String, address: UInt64, alignment: UInt64)
    case ringOutsideMemory(part: String, address: UInt64, length: UInt64)
    // Hostile-driver rules (device side).
    /// `avail.idx - last_avail_idx > Q`: the driver claims more new entries than the ring holds.
    case availIndexJump(lastSeen: UInt16, availIndex: UInt16, queueSize: Int)
    /// A ring entry names a head descriptor index ≥ Q.
    case headOutOfRange(ringSlot: Int, head: UInt16, queueSize: Int)
    /// A descriptor's `next` is ≥ Q (or ≥ the indirect table's length).
    case nextOutOfRange(descriptor: UInt16, next: UInt16, limit: Int)
    /// The chain has more descriptors than allowed: a loop, or longer than the queue.
    case chainTooLong(head: UInt16, limit: Int)
    /// A buffer lies (partly) outside guest memory.
    case bufferOutsideMemory(descriptor: UInt16, address: UInt64, length: UInt32)
    case zeroLengthBuffer(descriptor: UInt16)
    /// A device-readable descriptor follows a device-writable one.
    case readableAfterWritable(descriptor: UInt16)
    case indirectNotNegotiated(descriptor: UInt16)
    case indirectWithNext(descriptor: UInt16)
    case indirectBadLength(descriptor: UInt16, length: UInt32)
    case indirectNested(descriptor: UInt16, entry: Int)
    case indirectTableOutsideMemory(descriptor: UInt16, address: UInt64, length: UInt32)
    /// The driver made available a head that the device has not returned yet.
    case headAlreadyInFlight(head: UInt16)
    /// More chains in flight than the queue has descriptors.
    case tooManyInFlight(queueSize: Int)
    // Hostile-device rules (driver side).
    case usedIndexJump(lastSeen: UInt16, usedIndex: UInt16, queueSize: Int)
    case usedIdNotInFlight(id: UInt32)
    /// The queue was already marked broken; it serves nothing until reset.
    case broken(String)

    public var description: String {
        switch self {
        case let .invalidQueueSize(size):
            return "queue size \(size) is not a power of two in 2...\(SplitVirtqueueLayout.maxQueueSize)"
        case let .misalignedRing(part, address, alignment):
            return "\(part) at 0x\(String(address, radix: 16)) is not aligned to \(alignment) bytes"
        case let .ringOutsideMemory(part, address, length):
            return "\(part) (\(length) bytes at 0x\(String(address, radix: 16))) is outside guest memory"
        case let .availIndexJump(lastSeen, availIndex, queueSize):
            return "avail.idx moved from \(lastSeen) to \(availIndex): more than queue size \(queueSize) new entries"
        case let .headOutOfRange(slot, head, queueSize):
            return "avail.ring[\(slot)] names head descriptor \(head), but the queue has \(queueSize) descriptors"
        case let .nextOutOfRange(descriptor, next, limit):
            return "descriptor \(descriptor): next = \(next) is out of range (limit \(limit))"
        case let .chainTooLong(head, limit):
            return "chain starting at descriptor \(head) is longer than \(limit) descriptors (looped descriptor chain)"
        case let .bufferOutsideMemory(descriptor, address, length):
            return "descriptor \(descriptor): buffer of \(length) bytes at 0x\(String(address, radix: 16)) is outside guest memory"
        case let .zeroLengthBuffer(descriptor):
            return "descriptor \(descriptor): zero-sized buffers are not allowed"
        case let .readableAfterWritable(descriptor):
            return "descriptor \(descriptor): device-readable buffer after a device-writable one (incorrect order for descriptors)"
        case let .indirectNotNegotiated(descriptor):
            return "descriptor \(descriptor): INDIRECT flag set but VIRTIO_F_INDIRECT_DESC was not negotiated"
        case let .indirectWithNext(descriptor):
            return "descriptor \(descriptor): INDIRECT and NEXT flags set together"
        case let .indirectBadLength(descriptor, length):
            return "descriptor \(descriptor): indirect table length \(length) is not a non-zero multiple of 16"
        case let .indirectNested(descriptor, entry):
            return "descriptor \(descriptor): indirect table entry \(entry) is itself indirect (nested indirect tables are not allowed)"
        case let .indirectTableOutsideMemory(descriptor, address, length):
            return "descriptor \(descriptor): indirect table of \(length) bytes at 0x\(String(address, radix: 16)) is outside guest memory"
        case let .headAlreadyInFlight(head):
            return "head descriptor \(head) made available again while still in flight"
        case let .tooManyInFlight(queueSize):
            return "more than \(queueSize) requests in flight"
        case let .usedIndexJump(lastSeen, usedIndex, queueSize):
            return "used.idx moved from \(lastSeen) to \(usedIndex): more than queue size \(queueSize) new entries"
        case let .usedIdNotInFlight(id):
            return "used ring returned id \(id), which is not an in-flight head"
        case let .broken(reason):
            return "virtqueue is broken: \(reason)"
        }
    }
}

/// The EVENT_IDX rule (virtio 1.2, 2.7.10): notify iff the peer's event index lies in
/// `[old, new)` — i.e. we crossed it while moving our index from `old` to `new`.
/// All arithmetic is modulo 2^16, so it holds across the wrap-around of the 16-bit indices.
@inlinable @inline(__always)
public func virtqNeedEvent(event: UInt16, new: UInt16, old: UInt16) -> Bool {
    (new &- event &- 1) < (new &- old)
}
