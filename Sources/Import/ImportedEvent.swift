#if canImport(Glibc)
import Glibc
#endif
#if canImport(Trace)
import Trace
#endif

/// One event a parser read from a line: a request's submission (with its completion when the
/// format carries a response time), or the completion of an earlier submission (blkparse and
/// ftrace `C` events, paired by `CompletionPairing`).
public struct ImportedEvent: Sendable, Equatable {
    public enum Kind: Sendable { case submit, complete }
    public static let unknownCPU = UInt32.max

    public var kind: Kind
    /// The device's index in the import's `DeviceTable`.
    public var device: Int
    public var type: TraceRequestType
    public var sector: UInt64
    /// Bytes (for DISCARD, the range).
    public var length: UInt32
    /// Nanoseconds in the source's own time base (the importer rebases the first request to 0).
    public var timeNs: UInt64
    public var completionNs: UInt64?
    public var status: TraceStatus
    /// The submitting CPU and process, where the format has them (for `--vq-map cpu|pid`).
    public var cpu: UInt32
    public var pid: UInt32
    /// The line the event came from (set by the importer, for errors found after pairing).
    public var line = 0

    public init(kind: Kind = .submit, device: Int, type: TraceRequestType, sector: UInt64, length: UInt32, timeNs: UInt64,
                completionNs: UInt64? = nil, status: TraceStatus = .ok, cpu: UInt32 = ImportedEvent.unknownCPU, pid: UInt32 = 0) {
        self.kind = kind
        self.device = device
        self.type = type
        self.sector = sector
        self.length = length
        self.timeNs = timeNs
        self.completionNs = completionNs
        self.status = status
        self.cpu = cpu
        self.pid = pid
    }

    /// The sector just past the request's range.
    var endSector: UInt64 { sector + UInt64(length) / 512 }
}

/// The devices an import has met, in order of first appearance, keyed by the source's own name
/// for them (a fio file name, blkparse's `8,0`, MSR's `hm,1`, a volume id), with the furthest
/// sector each one reached (its capacity, unless the user gives one).
///
/// Lookups compare against the last key first: traces name the same device line after line, and
/// that path allocates nothing.
public final class DeviceTable {
    // One importing thread, looked up per line: no runtime exclusivity checks.
    @exclusivity(unchecked) public private(set) var keys: [String] = []
    @exclusivity(unchecked) public private(set) var endSectors: [UInt64] = []
    @exclusivity(unchecked) private var indexByKey: [String: Int] = [:]
    @exclusivity(unchecked) private var lastKey: [UInt8] = []
    @exclusivity(unchecked) private var lastIndex = -1
    /// At most this many devices (a trace's device index is 16 bits).
    static let maxDevices = 65536

    public init() {}

    public var count: Int { keys.count }

    /// The index of the device named by these bytes, added if new.
    func index(of key: UnsafeRawBufferPointer) throws(LineProblem) -> Int {
        if lastIndex >= 0 && key.count == lastKey.count
            && lastKey.withUnsafeBytes({ key.count == 0 || memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }) {
            return lastIndex
        }
        let name = String(decoding: key, as: UTF8.self)
        let index: Int
        if let known = indexByKey[name] { index = known } else {
            guard keys.count < Self.maxDevices else { throw LineProblem("more than \(Self.maxDevices) devices") }
            index = keys.count
            keys.append(name)
            endSectors.append(0)
            indexByKey[name] = index
        }
        lastKey.removeAll(keepingCapacity: true)
        lastKey.append(contentsOf: key)
        lastIndex = index
        return index
    }

    /// Records that a request reached `endSector` on `device`.
    @inline(__always) func reach(_ device: Int, _ endSector: UInt64) {
        if endSector > endSectors[device] { endSectors[device] = endSector }
    }
}
