import Virtio

/// fio's access patterns, with fio's names.
public enum IOPatternKind: String, Sendable, CaseIterable {
    case read, write, randread, randwrite, randrw
}

/// A fio-like pattern generator for one queue: sequential or uniform random offsets aligned to
/// the block size over [0, regionBytes), a read/write mix, optionally a request limit, and
/// optionally stamped data that reads check (`verify`). Deterministic for a seed.
public struct IOPattern: SequentialRequestSource, Sendable {
    public let kind: IOPatternKind
    public let blockSize: Int
    public let regionBytes: UInt64
    /// Percentage of reads for randrw (fio rwmixread).
    public let readPercent: Int
    public let verifySeed: UInt64?
    private var random: UInt64
    private var nextOffset: UInt64
    private var remaining: UInt64
    public private(set) var verifyFailures: UInt64 = 0
    public private(set) var firstBadSector: UInt64?
    public private(set) var errors: UInt64 = 0

    /// - Parameters:
    ///   - queue, queues: sequential patterns split the region so each queue streams its own part.
    ///   - limit: requests to issue, or nil for as many as the run's duration allows.
    public init(kind: IOPatternKind, blockSize: Int, regionBytes: UInt64, readPercent: Int = 50, seed: UInt64,
                queue: Int = 0, queues: Int = 1, limit: UInt64? = nil, verifySeed: UInt64? = nil) {
        precondition(blockSize >= 512 && blockSize % 512 == 0 && regionBytes >= UInt64(blockSize))
        self.kind = kind
        self.blockSize = blockSize
        self.regionBytes = regionBytes / UInt64(blockSize) * UInt64(blockSize)
        self.readPercent = readPercent
        self.verifySeed = verifySeed
        random = (seed &+ UInt64(queue) &* 0x9E37_79B9_7F4A_7C15) | 1
        let blocks = self.regionBytes / UInt64(blockSize)
        nextOffset = blocks * UInt64(queue) / UInt64(max(queues, 1)) * UInt64(blockSize)
        remaining = limit ?? .max
    }

    @inline(__always) private mutating func next64() -> UInt64 {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random
    }

    public var isExhausted: Bool { remaining == 0 }

    public mutating func next() -> PlannedRequest? {
        guard remaining > 0 else { return nil }
        if remaining != .max { remaining -= 1 }
        let offset: UInt64
        switch kind {
        case .read, .write:
            offset = nextOffset
            nextOffset += UInt64(blockSize)
            if nextOffset >= regionBytes { nextOffset = 0 }
        case .randread, .randwrite, .randrw:
            offset = next64() % (regionBytes / UInt64(blockSize)) * UInt64(blockSize)
        }
        let isRead: Bool
        switch kind {
        case .read, .randread: isRead = true
        case .write, .randwrite: isRead = false
        case .randrw: isRead = Int(next64() % 100) < readPercent
        }
        return PlannedRequest(type: isRead ? .read : .write, sector: offset >> 9, length: UInt32(blockSize))
    }

    public mutating func fill(_ request: PlannedRequest, data: UnsafeMutableRawPointer) {
        if let seed = verifySeed { SectorStamp.fill(data, sector: request.sector, length: Int(request.length), seed: seed) }
    }

    public mutating func completed(_ request: PlannedRequest, status: UInt8, data: UnsafeMutableRawPointer) {
        if status != 0 {
            errors += 1
            return
        }
        if let seed = verifySeed, request.type == .read,
           let bad = SectorStamp.firstMismatch(data, sector: request.sector, length: Int(request.length), seed: seed)
        {
            verifyFailures += 1
            if firstBadSector == nil { firstBadSector = bad }
        }
    }
}
