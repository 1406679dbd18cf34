/// virtio-blk request types (virtio 1.2, 5.2.6), as found in the request header's `type`.
public enum VirtioBlkRequestType: UInt32, Sendable, CaseIterable {
    case read = 0          // VIRTIO_BLK_T_IN
    case write = 1         // VIRTIO_BLK_T_OUT
    case flush = 4         // VIRTIO_BLK_T_FLUSH
    case getID = 8         // VIRTIO_BLK_T_GET_ID
    case discard = 11      // VIRTIO_BLK_T_DISCARD
    case writeZeroes = 13  // VIRTIO_BLK_T_WRITE_ZEROES

    /// Short lower-case name used in traces, logs and reports.
    public var name: String {
        switch self {
        case .read: return "read"
        case .write: return "write"
        case .flush: return "flush"
        case .getID: return "get-id"
        case .discard: return "discard"
        case .writeZeroes: return "write-zeroes"
        }
    }
}

/// The status byte the device writes last (virtio 1.2, 5.2.6).
public enum VirtioBlkStatus: UInt8, Sendable {
    case ok = 0
    case ioError = 1
    case unsupported = 2
}

/// Fixed sizes and units of virtio-blk.
public enum VirtioBlk {
    /// `struct virtio_blk_outhdr`: type le32, ioprio le32, sector le64.
    public static let headerSize = 16
    /// The status byte (`struct virtio_blk_inhdr`).
    public static let statusSize = 1
    /// Sector numbers in requests are always in 512-byte units, whatever the block size.
    public static let sectorSize = 512
    public static let sectorShift: UInt64 = 9
    /// GET_ID returns at most 20 bytes of serial.
    public static let idBytes = 20
    /// `struct virtio_blk_discard_write_zeroes`: sector le64, num_sectors le32, flags le32.
    public static let discardSegmentSize = 16
    /// The only defined flag of a discard/write-zeroes segment.
    public static let writeZeroesFlagUnmap: UInt32 = 1

    /// Writes a request header (little-endian) at `pointer`.
    @inlinable
    public static func storeHeader(type: UInt32, ioprio: UInt32 = 0, sector: UInt64, to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: type.littleEndian, as: UInt32.self)
        pointer.storeBytes(of: ioprio.littleEndian, toByteOffset: 4, as: UInt32.self)
        pointer.storeBytes(of: sector.littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// Writes one discard/write-zeroes segment at `pointer`.
    @inlinable
    public static func storeDiscardSegment(sector: UInt64, sectors: UInt32, flags: UInt32, to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: sector.littleEndian, as: UInt64.self)
        pointer.storeBytes(of: sectors.littleEndian, toByteOffset: 8, as: UInt32.self)
        pointer.storeBytes(of: flags.littleEndian, toByteOffset: 12, as: UInt32.self)
    }
}

/// What a virtio-blk device exposes and enforces: its size, block size and request limits.
/// Field names follow `struct virtio_blk_config` and QEMU's device properties.
public struct VirtioBlkConfig: Sendable, Equatable {
    /// Capacity in 512-byte sectors.
    public var capacitySectors: UInt64
    /// Logical block size in bytes (512, 4096, …): requests must be aligned to it.
    public var logicalBlockSize: UInt32
    /// Maximum data segments per request (seg_max); QEMU's default is queue size − 2.
    public var segMax: UInt32
    /// Maximum bytes per data segment (size_max); 0 means unlimited.
    public var sizeMax: UInt32
    /// Largest read/write in sectors (QEMU's BDRV_REQUEST_MAX_SECTORS).
    public var maxTransferSectors: UInt64
    /// Discard and write-zeroes limits; QEMU supports one segment per request.
    public var maxDiscardSectors: UInt32
    public var maxDiscardSegments: UInt32
    public var maxWriteZeroesSectors: UInt32
    public var maxWriteZeroesSegments: UInt32
    /// Which optional commands are offered; others complete with UNSUPP.
    public var features: VirtioFeatures
    /// The serial returned by GET_ID (at most 20 bytes are sent).
    public var serial: String

    public init(capacitySectors: UInt64, logicalBlockSize: UInt32 = 512, segMax: UInt32 = 254, sizeMax: UInt32 = 0,
                maxTransferSectors: UInt64 = (UInt64(Int32.max) & ~4095) >> 9,
                maxDiscardSectors: UInt32 = UInt32(Int32.max >> 9), maxDiscardSegments: UInt32 = 1,
                maxWriteZeroesSectors: UInt32 = UInt32(Int32.max >> 9), maxWriteZeroesSegments: UInt32 = 1,
                features: VirtioFeatures = [.blkFlush, .blkDiscard, .blkWriteZeroes, .blkSegMax, .blkBlockSize],
                serial: String = "vqtrace") {
        self.capacitySectors = capacitySectors
        self.logicalBlockSize = logicalBlockSize
        self.segMax = segMax
        self.sizeMax = sizeMax
        self.maxTransferSectors = maxTransferSectors
        self.maxDiscardSectors = maxDiscardSectors
        self.maxDiscardSegments = maxDiscardSegments
        self.maxWriteZeroesSectors = maxWriteZeroesSectors
        self.maxWriteZeroesSegments = maxWriteZeroesSegments
        self.features = features
        self.serial = serial
    }

    /// The overflow-safe range check QEMU applies (`virtio_blk_sect_range_ok`): the length is a
    /// multiple of the logical block size, the start is aligned to it, and
    /// `sector + sectors ≤ capacity` — written as `sector > capacity || sectors > capacity − sector`
    /// so that no sum can wrap.
    @inlinable
    public func rangeIsValid(sector: UInt64, bytes: UInt64) -> Bool {
        let blockSize = UInt64(logicalBlockSize)
        if bytes % blockSize != 0 { return false }
        let sectorsPerBlock = blockSize >> VirtioBlk.sectorShift
        if sectorsPerBlock > 1 && sector % sectorsPerBlock != 0 { return false }
        let sectors = bytes >> VirtioBlk.sectorShift
        if sector > capacitySectors || sectors > capacitySectors - sector { return false }
        return true
    }
}

extension VirtioBlkConfig {
    /// Size of `struct virtio_blk_config` up to the write-zeroes fields (virtio 1.1, 5.2.4).
    public static let configSpaceSize = 60

    /// The device's configuration space as a driver reads it, little-endian, for `numQueues`
    /// queues and writeback caching on (FLUSH is honoured): capacity @0, size_max @8, seg_max @12,
    /// blk_size @20, num_queues @34, the discard limits @36, the write-zeroes limits @48.
    public func configSpace(numQueues: UInt16) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.configSpaceSize)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
        }
        put(capacitySectors, at: 0)
        put(sizeMax, at: 8)
        put(segMax, at: 12)
        put(logicalBlockSize, at: 20)
        bytes[32] = 1  // writeback
        put(numQueues, at: 34)
        put(maxDiscardSectors, at: 36)
        put(maxDiscardSegments, at: 40)
        put(logicalBlockSize >> VirtioBlk.sectorShift, at: 44)  // discard_sector_alignment
        put(maxWriteZeroesSectors, at: 48)
        put(maxWriteZeroesSegments, at: 52)
        bytes[56] = 1  // write_zeroes_may_unmap
        return bytes
    }
}
