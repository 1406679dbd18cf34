import Virtio

/// What a backend is asked to do for one virtio-blk request.
public enum BlockOperation: UInt8, Sendable {
    case read, write, flush, discard, writeZeroes
}

/// One request handed to a backend. `iovecs` point at guest memory (IOSegment is iovec-shaped)
/// and stay valid until the backend reports the slot complete.
public struct BlockIO {
    public var operation: BlockOperation
    public var offset: UInt64
    public var length: UInt64
    public var iovecs: UnsafeMutablePointer<IOSegment>?
    public var iovecCount: Int

    public init(operation: BlockOperation, offset: UInt64, length: UInt64, iovecs: UnsafeMutablePointer<IOSegment>?, iovecCount: Int) {
        self.operation = operation
        self.offset = offset
        self.length = length
        self.iovecs = iovecs
        self.iovecCount = iovecCount
    }
}

/// A block backend: where an IOThread's requests go. One instance per IOThread, used only by that
/// thread (no locks on the submit and reap paths). Requests are named by a dense slot number the
/// IOThread owns; a slot is busy from `submit` until `reap` reports it.
///
/// IOThreads are generic over the backend, so these calls are direct, not existential.
public protocol BlockBackend: AnyObject {
    /// Queues a request; it may only be sent to the kernel at `submitPending()`.
    func submit(slot: Int, _ io: BlockIO)
    /// Sends everything queued since the last call (one batch per IOThread pass).
    func submitPending()
    /// Calls `body(slot, result)` for each finished request (result: bytes done, or −errno);
    /// returns how many. Never blocks.
    func reap(_ body: (Int, Int32) -> Void) -> Int
    /// Whether completions are waiting to be reaped (checked while polling).
    var hasCompletions: Bool { get }
    /// A file descriptor that becomes readable when completions arrive, or −1 when completions
    /// are always immediate. `clearCompletionSignal()` resets it.
    var completionFD: Int32 { get }
    func clearCompletionSignal()
    /// Requests submitted and not reaped yet.
    var inFlight: Int { get }
    /// Tells the backend where guest memory lives (every iovec points into one of these), so
    /// it can register it once instead of mapping pages per request. Optional.
    func registerMemory(_ regions: [UnsafeMutableRawBufferPointer])
    /// What the backend counted (for IOThread statistics).
    var counters: BackendCounters { get }
}

/// Backend-specific counts an IOThread reports.
public struct BackendCounters: Sendable, Equatable {
    /// Requests sent with registered (fixed) buffers.
    public var fixedBufferRequests = 0
    /// Short transfers and EAGAIN/EINTR retries sent again.
    public var resubmissions = 0
    /// Submit calls the kernel answered EAGAIN, EBUSY or EINTR, made again.
    public var submitRetries = 0
    /// Submissions that failed for good; their requests completed with IOERR.
    public var submitFailures = 0
    public init() {}
}

extension BlockBackend {
    public func registerMemory(_ regions: [UnsafeMutableRawBufferPointer]) {}
    public var counters: BackendCounters { BackendCounters() }
}

/// What backends do with FALLOCATE for DISCARD and WRITE_ZEROES on a file.
enum FallocateMode {
    static let keepSize: Int32 = 0x01   // FALLOC_FL_KEEP_SIZE
    static let punchHole: Int32 = 0x02  // FALLOC_FL_PUNCH_HOLE
    static let zeroRange: Int32 = 0x10  // FALLOC_FL_ZERO_RANGE
    /// DISCARD: deallocate, the range reads back as zeros.
    static let discard = punchHole | keepSize
    /// WRITE_ZEROES: zeros, allocated.
    static let writeZeroes = zeroRange | keepSize
}
