/// Flags of a split-ring descriptor (virtio 1.2, 2.7.5).
public struct VirtqDescriptorFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The chain continues in `next`.
    public static let next = VirtqDescriptorFlags(rawValue: 1)
    /// The buffer is device-writable (otherwise device-readable).
    public static let write = VirtqDescriptorFlags(rawValue: 2)
    /// The buffer holds a table of descriptors (VIRTIO_F_INDIRECT_DESC).
    public static let indirect = VirtqDescriptorFlags(rawValue: 4)
}

/// One 16-byte descriptor, as read from (or written to) the descriptor table.
public struct VirtqDescriptor: Sendable, Equatable {
    public var address: UInt64
    public var length: UInt32
    public var flags: VirtqDescriptorFlags
    public var next: UInt16

    public init(address: UInt64, length: UInt32, flags: VirtqDescriptorFlags = [], next: UInt16 = 0) {
        self.address = address
        self.length = length
        self.flags = flags
        self.next = next
    }

    /// Reads the descriptor at `pointer` (little-endian, any alignment). The device reads each
    /// descriptor exactly once into this value, so a driver that rewrites the table while the
    /// device walks it cannot make two checks see different values.
    @inlinable @inline(__always)
    public init(loadingFrom pointer: UnsafeRawPointer) {
        address = UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self))
        length = UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        flags = VirtqDescriptorFlags(rawValue: UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: 12, as: UInt16.self)))
        next = UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: 14, as: UInt16.self))
    }

    @inlinable @inline(__always)
    public func store(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: address.littleEndian, as: UInt64.self)
        pointer.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt32.self)
        pointer.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: 12, as: UInt16.self)
        pointer.storeBytes(of: next.littleEndian, toByteOffset: 14, as: UInt16.self)
    }
}

/// One buffer of a popped chain, already translated and bounds-checked.
public struct ChainSegment: @unchecked Sendable, Equatable {
    public var guestAddress: UInt64
    public var host: UnsafeMutableRawPointer
    public var length: UInt32
    public var writable: Bool

    public init(guestAddress: UInt64, host: UnsafeMutableRawPointer, length: UInt32, writable: Bool) {
        self.guestAddress = guestAddress
        self.host = host
        self.length = length
        self.writable = writable
    }
}

/// A descriptor chain the device popped: its head and its segments, readable ones first.
///
/// The segments live in storage the caller passed to `SplitVirtqueueDevice.pop(into:)`, so
/// popping allocates nothing; the chain is valid until that storage is reused.
public struct DescriptorChain: @unchecked Sendable {
    /// The head descriptor index: the id the device returns in the used ring.
    public let head: UInt16
    public let segments: UnsafeBufferPointer<ChainSegment>
    /// Number of device-readable segments (they come first: a readable one after a writable one
    /// is a protocol violation and never reaches here).
    public let readableCount: Int
    public let readableBytes: UInt64
    public let writableBytes: UInt64

    public init(head: UInt16, segments: UnsafeBufferPointer<ChainSegment>, readableCount: Int,
                readableBytes: UInt64, writableBytes: UInt64) {
        self.head = head
        self.segments = segments
        self.readableCount = readableCount
        self.readableBytes = readableBytes
        self.writableBytes = writableBytes
    }
}
