/// Where the three parts of a split virtqueue live and how big they are (virtio 1.2, 2.7).
///
/// ```
/// descriptor table  16·Q bytes, align 16:  { addr le64, len le32, flags le16, next le16 } × Q
/// available ring  6+2·Q bytes, align 2:    flags le16, idx le16, ring[Q] le16, used_event le16
/// used ring       6+8·Q bytes, align 4:    flags le16, idx le16, ring[Q] {id le32, len le32}, avail_event le16
/// ```
public struct SplitVirtqueueLayout: Sendable, Equatable {
    public static let maxQueueSize = 32768
    public static let descriptorSize = 16
    public static let descriptorAlignment: UInt64 = 16
    public static let availAlignment: UInt64 = 2
    public static let usedAlignment: UInt64 = 4

    // Byte offsets inside the rings (spec layout; checked by tests against the C structs' shape).
    public static let ringFlagsOffset = 0
    public static let ringIndexOffset = 2
    public static let ringEntriesOffset = 4
    public static let usedElementSize = 8

    public let queueSize: Int
    public let descriptorTable: UInt64
    public let availRing: UInt64
    public let usedRing: UInt64

    public var descriptorTableSize: Int { Self.descriptorTableSize(queueSize) }
    public var availRingSize: Int { Self.availRingSize(queueSize) }
    public var usedRingSize: Int { Self.usedRingSize(queueSize) }

    public static func descriptorTableSize(_ queueSize: Int) -> Int { 16 * queueSize }
    public static func availRingSize(_ queueSize: Int) -> Int { 6 + 2 * queueSize }
    public static func usedRingSize(_ queueSize: Int) -> Int { 6 + 8 * queueSize }
    /// Offset of `used_event` in the available ring.
    public static func usedEventOffset(_ queueSize: Int) -> Int { 4 + 2 * queueSize }
    /// Offset of `avail_event` in the used ring.
    public static func availEventOffset(_ queueSize: Int) -> Int { 4 + 8 * queueSize }

    /// Validates the size (a power of two, 2...32768) and the alignments.
    public init(queueSize: Int, descriptorTable: UInt64, availRing: UInt64, usedRing: UInt64) throws(VirtqueueError) {
        guard queueSize >= 2, queueSize <= Self.maxQueueSize, queueSize & (queueSize - 1) == 0 else {
            throw .invalidQueueSize(queueSize)
        }
        guard descriptorTable % Self.descriptorAlignment == 0 else {
            throw .misalignedRing(part: "descriptor table", address: descriptorTable, alignment: Self.descriptorAlignment)
        }
        guard availRing % Self.availAlignment == 0 else {
            throw .misalignedRing(part: "available ring", address: availRing, alignment: Self.availAlignment)
        }
        guard usedRing % Self.usedAlignment == 0 else {
            throw .misalignedRing(part: "used ring", address: usedRing, alignment: Self.usedAlignment)
        }
        self.queueSize = queueSize
        self.descriptorTable = descriptorTable
        self.availRing = availRing
        self.usedRing = usedRing
    }

    /// Places the three parts one after another from `base` (aligned up as the spec requires).
    public static func contiguous(queueSize: Int, at base: UInt64) throws(VirtqueueError) -> SplitVirtqueueLayout {
        let table = alignUp(base, descriptorAlignment)
        let avail = alignUp(table + UInt64(descriptorTableSize(queueSize)), availAlignment)
        let used = alignUp(avail + UInt64(availRingSize(queueSize)), usedAlignment)
        return try SplitVirtqueueLayout(queueSize: queueSize, descriptorTable: table, availRing: avail, usedRing: used)
    }

    /// Bytes from `descriptorTable` to the end of the used ring for a contiguous layout.
    public var contiguousSpan: UInt64 { usedRing + UInt64(usedRingSize) - descriptorTable }

    public static func alignUp(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
        (value + alignment - 1) & ~(alignment - 1)
    }
}
