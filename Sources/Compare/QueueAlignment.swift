import Trace

/// A request's identity for matching a replay to its recording: what it did, not when.
public struct RequestKey: Hashable, Sendable, CustomStringConvertible {
    public var type: TraceRequestType
    public var sector: UInt64
    public var length: UInt32

    public init(_ record: TraceRecord) {
        type = record.type
        sector = record.sector
        length = record.length
    }

    public var description: String {
        type.addressesSectors ? "\(type) of \(length) bytes at sector \(sector)" : "\(type)"
    }
}

/// Matches one vq's requests in B (a replay) to the same requests in A (the recording) as both
/// stream past, and measures the order B kept:
/// - each B request takes the earliest unmatched A request with the same type, sector and
///   length (repeated reads of one block match in order);
/// - B's requests are then visited in B's order with their A positions: one whose A position is
///   below the largest seen so far is reordered (RFC 4737's Type-P-Reordered, as hfplayer
///   measures it), and |A position − B position| is its displacement;
/// - a request of A that B never issued is missing, one of B that A never had is extra.
///
/// Memory is bounded by how far B strays from A: requests still unmatched `window` positions
/// after they were seen are settled as missing or extra, so two long, similar traces compare
/// in the memory of a short stretch of each.
public struct QueueAlignment: Sendable {
    public let window: UInt64

    public private(set) var aCount: UInt64 = 0
    public private(set) var bCount: UInt64 = 0
    public private(set) var matched: UInt64 = 0
    public private(set) var reordered: UInt64 = 0
    public private(set) var displacementSum: UInt64 = 0
    public private(set) var missingCount: UInt64 = 0
    public private(set) var extraCount: UInt64 = 0
    /// The first few missing and extra requests, for the answer to name.
    public private(set) var missing: [(position: UInt64, key: RequestKey)] = []
    public private(set) var extra: [(position: UInt64, key: RequestKey)] = []
    static let samples = 5

    /// Unmatched positions per key, oldest first.
    private var pendingA: [RequestKey: [UInt64]] = [:]
    private var pendingB: [RequestKey: [UInt64]] = [:]
    /// Unmatched requests in arrival order (possibly matched since: checked when expired).
    private var orderA: [(UInt64, RequestKey)] = []
    private var orderB: [(UInt64, RequestKey)] = []
    private var headA = 0, headB = 0
    /// B positions whose fate is known (matched, or extra), waiting to be visited in B order.
    private var settled = MinHeap<Settled>()
    private var nextB: UInt64 = 0
    private var largestA: Int64 = -1

    struct Settled: Comparable {
        var b: UInt64
        var a: UInt64?
        static func < (x: Settled, y: Settled) -> Bool { x.b < y.b }
        static func == (x: Settled, y: Settled) -> Bool { x.b == y.b }
    }

    public init(window: UInt64 = 1 << 20) { self.window = window }

    public var reorderedShare: Double { matched > 0 ? Double(reordered) / Double(matched) : 0 }
    public var meanDisplacement: Double { matched > 0 ? Double(displacementSum) / Double(matched) : 0 }
    /// Whether A and B hold the same requests (the same multiset of type, sector and length).
    public var sameRequests: Bool { missingCount == 0 && extraCount == 0 && pendingA.isEmpty && pendingB.isEmpty }

    public mutating func addA(_ record: TraceRecord) {
        let key = RequestKey(record)
        let position = aCount
        aCount += 1
        if var waiting = pendingB[key], !waiting.isEmpty {
            let b = waiting.removeFirst()
            pendingB[key] = waiting.isEmpty ? nil : waiting
            settled.push(Settled(b: b, a: position))
            visit()
        } else {
            pendingA[key, default: []].append(position)
            orderA.append((position, key))
        }
        expire()
    }

    public mutating func addB(_ record: TraceRecord) {
        let key = RequestKey(record)
        let position = bCount
        bCount += 1
        if var waiting = pendingA[key], !waiting.isEmpty {
            let a = waiting.removeFirst()
            pendingA[key] = waiting.isEmpty ? nil : waiting
            settled.push(Settled(b: position, a: a))
        } else {
            pendingB[key, default: []].append(position)
            orderB.append((position, key))
        }
        visit()
        expire()
    }

    /// Settles what is left: every unmatched request is missing or extra.
    public mutating func finish() {
        expire(all: true)
        visit()
    }

    /// Visits settled B positions in B order.
    private mutating func visit() {
        while let first = settled.min, first.b == nextB {
            settled.popMin()
            nextB += 1
            guard let a = first.a else { continue }
            matched += 1
            if Int64(a) < largestA { reordered += 1 } else { largestA = Int64(a) }
            displacementSum += a > first.b ? a - first.b : first.b - a
        }
    }

    /// Settles requests unmatched for `window` positions (or all of them). The arrival queues
    /// are walked from their head: an entry matched since is passed over at once (the oldest
    /// unmatched position of a key is always the first of its key's pending list).
    private mutating func expire(all: Bool = false) {
        while headA < orderA.count {
            let (position, key) = orderA[headA]
            guard var waiting = pendingA[key], waiting.first == position else { headA += 1; continue }
            guard all || aCount - position > window else { break }
            headA += 1
            waiting.removeFirst()
            pendingA[key] = waiting.isEmpty ? nil : waiting
            missingCount += 1
            if missing.count < Self.samples { missing.append((position, key)) }
        }
        while headB < orderB.count {
            let (position, key) = orderB[headB]
            guard var waiting = pendingB[key], waiting.first == position else { headB += 1; continue }
            guard all || bCount - position > window else { break }
            headB += 1
            waiting.removeFirst()
            pendingB[key] = waiting.isEmpty ? nil : waiting
            extraCount += 1
            if extra.count < Self.samples { extra.append((position, key)) }
            settled.push(Settled(b: position, a: nil))
        }
        // Keep the arrival queues short: drop what has been passed.
        if headA > 4096 && headA * 2 > orderA.count { orderA.removeFirst(headA); headA = 0 }
        if headB > 4096 && headB * 2 > orderB.count { orderB.removeFirst(headB); headB = 0 }
        if all { visit() }
    }
}
