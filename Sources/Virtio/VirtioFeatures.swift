/// Device feature bits that vqtrace negotiates (virtio 1.2, sections 6 and 5.2.3).
public struct VirtioFeatures: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    // virtio-blk device-specific bits.
    public static let blkSizeMax = VirtioFeatures(rawValue: 1 << 1)
    public static let blkSegMax = VirtioFeatures(rawValue: 1 << 2)
    public static let blkReadOnly = VirtioFeatures(rawValue: 1 << 5)
    public static let blkBlockSize = VirtioFeatures(rawValue: 1 << 6)
    public static let blkFlush = VirtioFeatures(rawValue: 1 << 9)
    public static let blkMultiQueue = VirtioFeatures(rawValue: 1 << 12)
    public static let blkDiscard = VirtioFeatures(rawValue: 1 << 13)
    public static let blkWriteZeroes = VirtioFeatures(rawValue: 1 << 14)
    // Transport-independent ring bits.
    public static let indirectDescriptors = VirtioFeatures(rawValue: 1 << 28)
    public static let eventIndex = VirtioFeatures(rawValue: 1 << 29)
    public static let version1 = VirtioFeatures(rawValue: 1 << 32)
}
