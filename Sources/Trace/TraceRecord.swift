// The fuzz build (make fuzz) compiles Virtio and Trace sources as one module.
#if canImport(Virtio)
import Virtio
#endif

/// The type of a virtio-blk request as it appears in a trace: the raw `VIRTIO_BLK_T_*` value, so
/// that a trace keeps even the types a hostile or newer driver sent.
public struct TraceRequestType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ known: VirtioBlkRequestType) { rawValue = known.rawValue }

    public static let read = TraceRequestType(.read)
    public static let write = TraceRequestType(.write)
    public static let flush = TraceRequestType(.flush)
    public static let getID = TraceRequestType(.getID)
    public static let discard = TraceRequestType(.discard)
    public static let writeZeroes = TraceRequestType(.writeZeroes)

    /// The class a summary counts the request in.
    public var mixClass: MixClass {
        switch self {
        case .read: return .read
        case .write: return .write
        case .flush: return .flush
        default: return .other
        }
    }

    /// Whether the request addresses sectors (its sector and length describe a byte range).
    public var addressesSectors: Bool {
        self == .read || self == .write || self == .discard || self == .writeZeroes
    }

    public var description: String { VirtioBlkRequestType(rawValue: rawValue)?.name ?? "type-\(rawValue)" }

    /// The four classes chunk headers and summaries count.
    public enum MixClass: Int, CaseIterable, Sendable {
        case read = 0, write, flush, other
    }
}

/// The virtio-blk status byte the device returned (`VIRTIO_BLK_S_*`).
public struct TraceStatus: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let ok = TraceStatus(rawValue: 0)
    public static let ioError = TraceStatus(rawValue: 1)
    public static let unsupported = TraceStatus(rawValue: 2)
}

/// One virtio-blk request of a trace.
///
/// Times are nanoseconds since the trace started: `submitNs` is when the driver made the request
/// available, `completionNs` when the device pushed it to the used ring (absent for imported traces
/// that lack it). `length` is the request's data in bytes (for DISCARD and WRITE_ZEROES, the range).
public struct TraceRecord: Hashable, Sendable {
    public var device: UInt16
    public var vq: UInt16
    public var type: TraceRequestType
    public var sector: UInt64
    public var length: UInt32
    public var submitNs: UInt64
    public var completionNs: UInt64?
    public var status: TraceStatus

    public init(
        device: UInt16 = 0, vq: UInt16, type: TraceRequestType, sector: UInt64, length: UInt32,
        submitNs: UInt64, completionNs: UInt64? = nil, status: TraceStatus = .ok
    ) {
        self.device = device
        self.vq = vq
        self.type = type
        self.sector = sector
        self.length = length
        self.submitNs = submitNs
        self.completionNs = completionNs
        self.status = status
    }

    /// The (device, vq) pair as one 32-bit key: device in the high half.
    @inline(__always) public var queueKey: QueueKey { QueueKey(device: device, vq: vq) }

    /// Completion minus submit, when the completion is known.
    public var latencyNs: UInt64? { completionNs.map { $0 &- submitNs } }
}

/// A virtqueue of a device in a trace, ordered by device then vq.
public struct QueueKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inline(__always) public init(device: UInt16, vq: UInt16) { rawValue = UInt32(device) << 16 | UInt32(vq) }
    @inline(__always) public init(rawValue: UInt32) { self.rawValue = rawValue }
    public var device: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 16) }
    public var vq: UInt16 { UInt16(truncatingIfNeeded: rawValue) }
    public static func < (a: QueueKey, b: QueueKey) -> Bool { a.rawValue < b.rawValue }
    public var description: String { device == 0 ? "vq\(vq)" : "dev\(device).vq\(vq)" }
}
