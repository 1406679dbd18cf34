/// One data buffer of a request, laid out exactly like `struct iovec` (base, length) so that an
/// array of them can be handed to preadv/pwritev/io_uring without copying.
public struct IOSegment: @unchecked Sendable, Equatable {
    public var base: UnsafeMutableRawPointer?
    public var length: Int
    public init(base: UnsafeMutableRawPointer?, length: Int) {
        self.base = base
        self.length = length
    }
}

/// Why a well-formed chain is completed with an error status and no I/O. The device keeps
/// serving: these are the driver's mistakes that virtio-blk answers with IOERR or UNSUPP.
public enum BlockRequestRejection: Sendable, Equatable, CustomStringConvertible {
    case unsupportedType(UInt32)
    case commandNotOffered(VirtioBlkRequestType)
    case outOfRange(sector: UInt64, bytes: UInt64, capacitySectors: UInt64)
    case misaligned(sector: UInt64, bytes: UInt64, logicalBlockSize: UInt32)
    case tooLarge(bytes: UInt64, maxBytes: UInt64)
    case tooManySegments(count: Int, segMax: Int)
    case segmentTooLarge(segment: Int, length: Int, sizeMax: UInt32)
    case discardPayloadNotSegments(bytes: UInt64)
    case tooManyDiscardSegments(count: UInt64, max: UInt32)
    case discardTooLarge(sectors: UInt32, max: UInt32)
    case unknownDiscardFlags(UInt32)
    case unmapOnDiscard

    /// The status byte this rejection completes with (QEMU's choice per case).
    public var status: VirtioBlkStatus {
        switch self {
        case .unsupportedType, .commandNotOffered, .discardPayloadNotSegments, .tooManyDiscardSegments,
             .unknownDiscardFlags, .unmapOnDiscard:
            return .unsupported
        case .outOfRange, .misaligned, .tooLarge, .tooManySegments, .segmentTooLarge, .discardTooLarge:
            return .ioError
        }
    }

    public var description: String {
        switch self {
        case let .unsupportedType(type): return "request type \(type) is not supported"
        case let .commandNotOffered(type): return "\(type.name) was not offered by the device"
        case let .outOfRange(sector, bytes, capacity):
            return "\(bytes) bytes at sector \(sector) run past the capacity of \(capacity) sectors"
        case let .misaligned(sector, bytes, blockSize):
            return "\(bytes) bytes at sector \(sector) are not aligned to the \(blockSize)-byte logical block size"
        case let .tooLarge(bytes, maxBytes): return "\(bytes) bytes exceed the \(maxBytes)-byte transfer limit"
        case let .tooManySegments(count, segMax): return "\(count) data segments exceed seg_max \(segMax)"
        case let .segmentTooLarge(segment, length, sizeMax):
            return "data segment \(segment) of \(length) bytes exceeds size_max \(sizeMax)"
        case let .discardPayloadNotSegments(bytes):
            return "discard/write-zeroes payload of \(bytes) bytes is not a multiple of 16-byte segments"
        case let .tooManyDiscardSegments(count, max): return "\(count) discard/write-zeroes segments exceed the limit of \(max)"
        case let .discardTooLarge(sectors, max): return "\(sectors) sectors exceed the discard/write-zeroes limit of \(max)"
        case let .unknownDiscardFlags(flags): return "unknown discard/write-zeroes flags 0x\(String(flags, radix: 16))"
        case .unmapOnDiscard: return "the UNMAP flag is only valid on write-zeroes"
        }
    }
}

/// A chain that cannot be a virtio-blk request at all; like QEMU, the device is then broken.
public enum VirtioBlkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No device-readable header or no device-writable status byte.
    case missingHeaders(head: UInt16, readableBytes: UInt64, writableBytes: UInt64)
    /// Fewer than 16 device-readable bytes for the header.
    case headerTooShort(head: UInt16, readableBytes: UInt64)
    /// A discard/write-zeroes request without a whole 16-byte segment.
    case discardSegmentTooShort(head: UInt16, bytes: UInt64)

    public var description: String {
        switch self {
        case let .missingHeaders(head, readable, writable):
            return "chain at head \(head): missing headers (\(readable) readable bytes, \(writable) writable bytes; need a 16-byte header and a status byte)"
        case let .headerTooShort(head, readable):
            return "chain at head \(head): request header too short (\(readable) readable bytes, need 16)"
        case let .discardSegmentTooShort(head, bytes):
            return "chain at head \(head): discard/write-zeroes payload of \(bytes) bytes is shorter than one 16-byte segment"
        }
    }
}

/// A parsed virtio-blk request: what to do, where, with which buffers, and where the status goes.
/// Produced by `BlockRequestParser`, executed by an engine backend, finished by `complete`.
public struct BlockRequest: @unchecked Sendable {
    /// The chain head: the id returned in the used ring.
    public var head: UInt16
    /// The header's type field; `type` is nil when it is not a known type.
    public var rawType: UInt32
    public var type: VirtioBlkRequestType?
    public var ioprio: UInt32
    /// First sector (512-byte units). For discard/write-zeroes, the segment's sector.
    public var sector: UInt64
    /// Bytes to transfer; for discard/write-zeroes, the segment's sectors × 512.
    public var dataLength: UInt64
    /// Data buffers written into the caller's `IOSegment` storage, `segmentCount` of them.
    public var segmentCount: Int
    /// Discard/write-zeroes segment flags (UNMAP).
    public var discardFlags: UInt32
    /// Where the status byte goes (host address inside guest memory).
    public var status: UnsafeMutablePointer<UInt8>
    /// The used length reported on completion: all device-writable bytes, as QEMU reports.
    public var usedLength: UInt32
    /// When set, the request must complete with `rejection.status` and no I/O.
    public var rejection: BlockRequestRejection?

    /// Byte offset on the device.
    public var offset: UInt64 { sector << VirtioBlk.sectorShift }

    /// Writes the status byte. The caller then pushes `head` with `usedLength` to the used ring.
    @inlinable
    public func complete(_ result: VirtioBlkStatus) {
        status.pointee = result.rawValue
    }
}
