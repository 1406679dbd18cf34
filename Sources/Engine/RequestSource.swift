import Virtio

/// One request a vCPU driver is about to submit.
public struct PlannedRequest: Sendable, Equatable {
    public var type: VirtioBlkRequestType
    public var sector: UInt64
    /// Bytes of data (reads and writes), or of the range (discard and write-zeroes); 0 for flush.
    public var length: UInt32
    /// Open-loop replay: the CLOCK_MONOTONIC time (ns) the request is due; 0 = as soon as possible.
    public var deadlineNs: UInt64
    /// The source's own number for the request, handed back in `completed` (the engine does
    /// not look at it).
    public var tag: UInt64
    /// When the device was told of it (CLOCK_MONOTONIC ns): set by the driver, so that
    /// `completed` sees it (0 before).
    public var submittedNs: UInt64 = 0

    public init(type: VirtioBlkRequestType, sector: UInt64, length: UInt32, deadlineNs: UInt64 = 0, tag: UInt64 = 0) {
        self.type = type
        self.sector = sector
        self.length = length
        self.deadlineNs = deadlineNs
        self.tag = tag
    }
}

/// What a source says when its driver asks for work.
public enum SourceStep: Sendable {
    /// Submit this (at its deadline, if it has one).
    case submit(PlannedRequest)
    /// Nothing until some in-flight request completes (closed-loop replay keeps a depth).
    case waitForCompletion
    /// Nothing, ever again.
    case exhausted
    /// Nothing yet: the source's data has not arrived (a trace feed behind). The driver
    /// notifies the device of what it holds and asks again soon; a source never blocks it.
    case notReady
}

/// Where a vCPU driver's requests come from: a synthetic pattern (`IOPattern`), a trace being
/// replayed, a test's script. Each driver owns its source on its own thread; nothing is shared.
///
/// These three calls are all the engine makes, once per request each, and they are direct
/// calls: `VCPUDriver` is generic over its source.
public protocol RequestSource {
    /// The next step given how many of this driver's requests are in flight.
    mutating func step(inFlight: Int) -> SourceStep
    /// Fills the data of a write before it is submitted. The default leaves the buffer as it is.
    mutating func fill(_ request: PlannedRequest, data: UnsafeMutableRawPointer)
    /// Sees a completed request (its status and, for reads, its data). The default ignores it.
    mutating func completed(_ request: PlannedRequest, status: UInt8, data: UnsafeMutableRawPointer)
    /// The driver stopped for good before the source was exhausted (its device broke): a source
    /// fed from elsewhere lets its feeder drop what is left. The default does nothing.
    mutating func abandoned()
}

extension RequestSource {
    public mutating func fill(_ request: PlannedRequest, data: UnsafeMutableRawPointer) {}
    public mutating func completed(_ request: PlannedRequest, status: UInt8, data: UnsafeMutableRawPointer) {}
    public mutating func abandoned() {}
}

/// A source whose requests do not depend on what is in flight: it only says the next one, and
/// whether there will be more; `step` follows from that.
public protocol SequentialRequestSource: RequestSource {
    /// The next request, or nil when there is none (for good when `isExhausted`).
    mutating func next() -> PlannedRequest?
    var isExhausted: Bool { get }
}

extension SequentialRequestSource {
    public mutating func step(inFlight: Int) -> SourceStep {
        if let request = next() { return .submit(request) }
        return isExhausted ? .exhausted : .waitForCompletion
    }
}

/// The data vqtrace writes when it checks what it reads back: every 512-byte sector holds 64
/// words derived from (sector, seed, word), so a sector read from anywhere else, torn, or never
/// written fails the check.
public enum SectorStamp {
    @inline(__always) static func word(sector: UInt64, seed: UInt64, index: UInt64) -> UInt64 {
        var z = (sector &* 0x9E37_79B9_7F4A_7C15) ^ (seed &* 0xBF58_476D_1CE4_E5B9) ^ index
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public static func fill(_ data: UnsafeMutableRawPointer, sector: UInt64, length: Int, seed: UInt64) {
        for s in 0..<(length / 512) {
            let base = data + s * 512
            for i in 0..<64 { base.storeBytes(of: word(sector: sector + UInt64(s), seed: seed, index: UInt64(i)), toByteOffset: i * 8, as: UInt64.self) }
        }
    }

    /// The first sector (absolute) whose content is wrong, or nil.
    public static func firstMismatch(_ data: UnsafeRawPointer, sector: UInt64, length: Int, seed: UInt64) -> UInt64? {
        for s in 0..<(length / 512) {
            let base = data + s * 512
            for i in 0..<64 where base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != word(sector: sector + UInt64(s), seed: seed, index: UInt64(i)) {
                return sector + UInt64(s)
            }
        }
        return nil
    }
}
