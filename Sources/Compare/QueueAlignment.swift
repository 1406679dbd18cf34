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
/// Fast where the streams agree: unmatched requests wait in arrival order, and a request that
/// meets its twin at the head of the other side's queue matches without any hashing; only a
/// miss indexes the waiting requests by key. Memory is bounded by how far B strays from A:
/// requests still unmatched `window` positions after they were seen are settled as missing or
/// extra, so two long, similar traces compare in the memory of a short stretch of each.
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

    private var a = Waiting()
    private var b = Waiting()
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

    /// One side's unmatched requests: the newest in arrival order (`queue`, from `head`), the
    /// older ones indexed by key once a miss needed them (`indexed`, each key's positions
    /// oldest first, and `indexedOrder` for expiry). Every position in `indexed` is older than
    /// every one in `queue`.
    struct Waiting: Sendable {
        var queue: [(position: UInt64, key: RequestKey)] = []
        var head = 0
        var indexed: [RequestKey: [UInt64]] = [:]
        var indexedOrder: [(position: UInt64, key: RequestKey)] = []
        var orderHead = 0

        var isEmpty: Bool { head == queue.count && indexed.isEmpty }

        /// The earliest unmatched position with `key`, taken; nil when there is none.
        mutating func take(_ key: RequestKey) -> UInt64? {
            if !indexed.isEmpty, let position = takeIndexed(key) { return position }
            guard head < queue.count else { return nil }
            if queue[head].key == key {
                let position = queue[head].position
                head += 1
                compact()
                return position
            }
            // A miss: index what waits, so that the lookup sees every unmatched request.
            for entry in queue[head...] {
                indexed[entry.key, default: []].append(entry.position)
                indexedOrder.append(entry)
            }
            queue.removeAll(keepingCapacity: true)
            head = 0
            return takeIndexed(key)
        }

        mutating func takeIndexed(_ key: RequestKey) -> UInt64? {
            guard var positions = indexed[key] else { return nil }
            let first = positions.removeFirst()
            indexed[key] = positions.isEmpty ? nil : positions
            return first
        }

        mutating func add(_ position: UInt64, _ key: RequestKey) { queue.append((position, key)) }

        /// Takes the unmatched requests older than `limit` (all of them with nil), oldest first.
        mutating func expire(before limit: UInt64?, _ settle: (UInt64, RequestKey) -> Void) {
            while orderHead < indexedOrder.count {
                let (position, key) = indexedOrder[orderHead]
                guard var waiting = indexed[key], waiting.first == position else { orderHead += 1; continue }  // matched since
                if let limit, position >= limit { break }
                orderHead += 1
                waiting.removeFirst()
                indexed[key] = waiting.isEmpty ? nil : waiting
                settle(position, key)
            }
            if orderHead > 4096 && orderHead * 2 > indexedOrder.count {
                indexedOrder.removeFirst(orderHead)
                orderHead = 0
            }
            while head < queue.count, limit.map({ queue[head].position < $0 }) ?? true {
                settle(queue[head].position, queue[head].key)
                head += 1
            }
            compact()
        }

        mutating func compact() {
            if head > 4096 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            } else if head == queue.count && head > 0 {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
        }
    }

    public init(window: UInt64 = 1 << 20) { self.window = window }

    public var reorderedShare: Double { matched > 0 ? Double(reordered) / Double(matched) : 0 }
    public var meanDisplacement: Double { matched > 0 ? Double(displacementSum) / Double(matched) : 0 }
    /// Whether A and B hold the same requests (the same multiset of type, sector and length).
    public var sameRequests: Bool { missingCount == 0 && extraCount == 0 && a.isEmpty && b.isEmpty }

    public mutating func addA(_ record: TraceRecord) {
        let key = RequestKey(record)
        let position = aCount
        aCount += 1
        if let matchedB = b.take(key) {
            settle(b: matchedB, a: position)
        } else {
            a.add(position, key)
        }
        if aCount & 1023 == 0 { expire() }
    }

    public mutating func addB(_ record: TraceRecord) {
        let key = RequestKey(record)
        let position = bCount
        bCount += 1
        if let matchedA = a.take(key) {
            settle(b: position, a: matchedA)
        } else {
            b.add(position, key)
        }
        if bCount & 1023 == 0 { expire() }
    }

    /// Settles what is left: every unmatched request is missing or extra.
    public mutating func finish() {
        expire(all: true)
        visit()
    }

    private mutating func settle(b position: UInt64, a: UInt64?) {
        if position == nextB {
            // In B's order already: no need for the heap.
            nextB += 1
            count(a: a, b: position)
            visit()
        } else {
            settled.push(Settled(b: position, a: a))
        }
    }

    private mutating func count(a: UInt64?, b: UInt64) {
        guard let a else { return }
        matched += 1
        if Int64(a) < largestA { reordered += 1 } else { largestA = Int64(a) }
        displacementSum += a > b ? a - b : b - a
    }

    /// Visits settled B positions in B order.
    private mutating func visit() {
        while let first = settled.min, first.b == nextB {
            settled.popMin()
            nextB += 1
            count(a: first.a, b: first.b)
        }
    }

    /// Settles requests unmatched for `window` positions (or all of them).
    private mutating func expire(all: Bool = false) {
        var lost: [(UInt64, RequestKey)] = []
        a.expire(before: all ? nil : (aCount > window ? aCount - window : 0)) { lost.append(($0, $1)) }
        for (position, key) in lost {
            missingCount += 1
            if missing.count < Self.samples { missing.append((position, key)) }
        }
        var added: [(UInt64, RequestKey)] = []
        b.expire(before: all ? nil : (bCount > window ? bCount - window : 0)) { added.append(($0, $1)) }
        for (position, key) in added {
            extraCount += 1
            if extra.count < Self.samples { extra.append((position, key)) }
            settle(b: position, a: nil)
        }
        visit()
    }
}
