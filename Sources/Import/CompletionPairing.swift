/// Pairs blktrace completions (`C`) with their submissions (`Q`) and hands the submissions out in
/// their own order, each with its completion time when one was found.
///
/// A completion matches the oldest open submission on its device at its start sector. When the
/// block layer merged requests, one completion covers several submissions: after the first match,
/// the submission that starts where that one ended is completed too, and so on up to the end of
/// the completed range. FLUSHes pair with FLUSHes.
///
/// Memory is bounded: a submission still open when `maxOpen` newer ones wait behind it, or
/// `staleNs` after it was made, goes out without a completion (a trace cut short, or a completion
/// the tracer dropped).
struct CompletionPairing {
    struct Key: Hashable {
        var device: Int
        var sector: UInt64
    }
    private struct Slot {
        var event: ImportedEvent
        var done = false
        /// The next newer open submission with the same key, as a sequence number, or -1.
        var nextSameKey = -1
    }

    let maxOpen: Int
    let staleNs: UInt64
    private var slots: [Slot] = []
    private var head = 0
    private var baseSeq = 0
    private var open: [Key: (oldest: Int, newest: Int)] = [:]
    private var latestNs: UInt64 = 0
    private(set) var paired = 0
    private(set) var unmatchedCompletions = 0

    init(maxOpen: Int = 65536, staleNs: UInt64 = 30_000_000_000) {
        precondition(maxOpen > 0)
        self.maxOpen = maxOpen
        self.staleNs = staleNs
    }

    var pendingCount: Int { slots.count - head }

    @inline(__always) private static func key(_ e: ImportedEvent) -> Key {
        Key(device: e.device, sector: e.type == .flush ? UInt64.max : e.sector)
    }

    mutating func submit(_ event: ImportedEvent) {
        latestNs = max(latestNs, event.timeNs)
        let seq = baseSeq + slots.count
        slots.append(Slot(event: event))
        let key = Self.key(event)
        if let chain = open[key] {
            slots[chain.newest - baseSeq].nextSameKey = seq
            open[key] = (chain.oldest, seq)
        } else {
            open[key] = (seq, seq)
        }
    }

    mutating func complete(_ event: ImportedEvent) {
        latestNs = max(latestNs, event.timeNs)
        var key = Self.key(event)
        let end = event.endSector
        var first = true
        while let chain = open[key] {
            let index = chain.oldest - baseSeq
            close(key: key, chain: chain)
            slots[index].done = true
            slots[index].event.completionNs = max(event.timeNs, slots[index].event.timeNs)
            slots[index].event.status = event.status
            paired += 1
            first = false
            let length = slots[index].event.length
            if event.type == .flush || length == 0 { break }
            key.sector = slots[index].event.endSector
            if key.sector >= end { break }
        }
        if first { unmatchedCompletions += 1 }
    }

    private mutating func close(key: Key, chain: (oldest: Int, newest: Int)) {
        if chain.oldest == chain.newest {
            open[key] = nil
        } else {
            open[key] = (slots[chain.oldest - baseSeq].nextSameKey, chain.newest)
        }
    }

    /// The oldest submission if it may go out: completed, too old or too far behind, or (when the
    /// input has ended) whatever its state.
    mutating func popReady(finishing: Bool) -> ImportedEvent? {
        guard head < slots.count else { return nil }
        let slot = slots[head]
        guard slot.done || finishing || slots.count - head > maxOpen || latestNs - slot.event.timeNs > staleNs else { return nil }
        if !slot.done {
            let key = Self.key(slot.event)
            if let chain = open[key], chain.oldest == baseSeq + head { close(key: key, chain: chain) }
        }
        head += 1
        if head >= 4096 && head * 2 >= slots.count {
            slots.removeFirst(head)
            baseSeq += head
            head = 0
        }
        return slot.event
    }
}
