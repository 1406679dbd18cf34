import Engine
import Foundation
import Synchronization
import Trace

/// Reads a trace once, on its own thread, and hands each queue's records to that queue's
/// driver through a bounded single-producer single-consumer ring. Decoding a chunk takes a
/// millisecond or more; doing it here, ahead of time, keeps it off the drivers' schedule (and
/// decodes each chunk once instead of once per queue).
///
/// Memory is bounded: `capacity` records per queue. No queue waits behind another: when the
/// reader meets a record for a full ring while another queue's ring is empty (its driver has
/// run dry; queues replayed closed-loop, or one whose device is slow, drift apart in trace
/// time), the full queue gets a cursor of its own from that record on, and the shared reading
/// goes on for the rest. A queue whose driver stopped for good is dropped: its records are
/// skipped. `next(for:)` never waits: a driver whose ring is empty hears `.notYet`.
public final class ReplayFeed: @unchecked Sendable {
    /// What `next(for:)` found.
    public enum Next {
        case record(TraceRecord)
        /// The reader has not got there yet: ask again soon.
        case notYet
        /// No more records for this queue.
        case end
    }

    /// One queue's ring and what its driver tells the reader.
    final class Channel: Sendable {
        let ring: SPSCRing<TraceRecord>
        /// Its driver stopped for good: set by the driver's thread, read by the reader.
        let dropped = Atomic<Bool>(false)
        /// Its driver found the ring empty and was told `.notYet`: the reader then lets no
        /// other queue hold it back. Set by the driver, cleared by the reader's next push.
        let hungry = Atomic<Bool>(false)
        /// The reader has pushed its last record for this queue (set after that push).
        let ended = Atomic<Bool>(false)
        init(capacity: Int) { ring = SPSCRing(capacity: capacity) }
    }
    private let channels: [UInt32: Channel]
    private let stopFlag = Atomic<Bool>(false)
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    /// The reader's error, if the trace could not be read to the end (set before `finished`).
    public private(set) var error: String?
    /// Damaged chunks the reader skipped (their records are not replayed); set before `finished`.
    public private(set) var damaged: [DamagedChunk] = []
    /// The submit times of the first and last record handed to a queue (nil when none was):
    /// the replayed span of the chosen vqs and window, not of the whole trace.
    public private(set) var fedSpan: (first: UInt64, last: UInt64)?
    /// Queues that got a cursor of their own (so as not to hold the others back); set before `finished`.
    public private(set) var detachedQueues: [QueueKey] = []

    /// Starts reading the file at `path` in [from, to) for `queues`.
    public convenience init(path: String, from: UInt64, to: UInt64, queues: Set<QueueKey>, capacity: Int = 8192) throws {
        try self.init(trace: .file(path), from: from, to: to, queues: queues, capacity: capacity)
    }

    /// Starts reading `trace` (a file, or a catalog's copy) in [from, to) for `queues`.
    public init(trace: TraceLocation, from: UInt64, to: UInt64, queues: Set<QueueKey>, capacity: Int = 8192) throws {
        let reader = try trace.open()
        var channels: [UInt32: Channel] = [:]
        for key in queues { channels[key.rawValue] = Channel(capacity: capacity) }
        self.channels = channels
        let thread = Thread { [self] in
            var reading = Reading(feed: self, shared: reader.cursor(from: from, to: to, queues: queues, skippingDamagedChunks: true))
            do {
                try reading.run()
            } catch {
                self.error = "\(error)"
            }
            var damaged: [Int: DamagedChunk] = [:]
            for chunk in reading.damaged where damaged[chunk.index] == nil { damaged[chunk.index] = chunk }
            self.damaged = damaged.values.sorted { $0.index < $1.index }
            self.fedSpan = reading.span
            self.detachedQueues = reading.detachedQueues
            for channel in self.channels.values { channel.ended.store(true, ordering: .releasing) }
            done.signal()
        }
        thread.name = "vqtrace-feed"
        self.thread = thread
        thread.start()
    }

    deinit {
        stop()
    }

    /// Stops the reader (if still running) and waits for it.
    public func stop() {
        guard thread != nil else { return }
        stopFlag.store(true, ordering: .relaxed)
        done.wait()
        thread = nil
    }

    /// The next record of `queue`, without waiting.
    func next(for queue: QueueKey) -> Next {
        guard let channel = channels[queue.rawValue] else { return .end }
        if let record = channel.ring.pop() { return .record(record) }
        // A record stored before `ended` was set is visible once `ended` is seen.
        if channel.ended.load(ordering: .acquiring) {
            if let record = channel.ring.pop() { return .record(record) }
            return .end
        }
        channel.hungry.store(true, ordering: .relaxed)
        return .notYet
    }

    /// `queue`'s driver stopped for good: its records are skipped from now on.
    func drop(_ queue: QueueKey) {
        channels[queue.rawValue]?.dropped.store(true, ordering: .relaxed)
    }

    /// The reader's state, on its thread only.
    private struct Reading {
        let feed: ReplayFeed
        /// The cursor over every queue not detached.
        var shared: TraceCursor
        /// A record the shared cursor gave whose ring was full.
        var sharedPending: TraceRecord?
        var sharedDone = false
        /// A queue with its own cursor, and the record it could not yet push.
        struct Lane {
            let queue: QueueKey
            var cursor: TraceCursor
            var pending: TraceRecord?
            var done = false
        }
        var lanes: [Lane] = []
        var detached = Set<UInt32>()
        var detachedQueues: [QueueKey] = []
        var span: (first: UInt64, last: UInt64)?
        var damaged: [DamagedChunk] { shared.damaged + lanes.flatMap(\.cursor.damaged) }

        init(feed: ReplayFeed, shared: TraceCursor) {
            self.feed = feed
            self.shared = shared
        }

        func isDropped(_ queue: UInt32) -> Bool { feed.channels[queue]?.dropped.load(ordering: .relaxed) ?? true }

        /// Pushes `record` onto its queue's ring; false when the ring is full.
        mutating func push(_ record: TraceRecord) -> Bool {
            guard let channel = feed.channels[record.queueKey.rawValue] else { return true }
            guard channel.ring.push(record) else { return false }
            channel.hungry.store(false, ordering: .relaxed)
            span = (min(span?.first ?? .max, record.submitNs), max(span?.last ?? 0, record.submitNs))
            return true
        }

        /// Whether the driver of some other queue read from the shared cursor has run dry.
        func anotherStarves(besides queue: UInt32) -> Bool {
            feed.channels.contains { key, channel in
                key != queue && !detached.contains(key) && !isDropped(key) && channel.hungry.load(ordering: .relaxed)
            }
        }

        mutating func run() throws {
            // With every ring full, the reader sleeps longer and longer (up to 5 ms: a ring of
            // 8,192 records lasts far longer at any replay rate), so that it does not wake 10,000
            // times a second beside the drivers it feeds; a driver that runs dry brings it back
            // to 100 µs.
            var idleUs: UInt32 = 100
            while !feed.stopFlag.load(ordering: .relaxed) {
                var progressed = try advanceShared()
                for l in lanes.indices where !lanes[l].done { progressed = try advanceLane(l) || progressed }
                if sharedDone && lanes.allSatisfy(\.done) { return }
                if progressed { continue }
                idleUs = feed.channels.values.contains { $0.hungry.load(ordering: .relaxed) && !$0.ended.load(ordering: .relaxed) } ? 100 : min(idleUs * 2, 5_000)
                usleep(idleUs)
            }
        }

        /// Moves the shared cursor on until a ring is full (or it ends); true if it did anything.
        mutating func advanceShared() throws -> Bool {
            var progressed = false
            while !sharedDone {
                let record: TraceRecord
                if let pending = sharedPending {
                    record = pending
                } else if let next = try shared.next() {
                    record = next
                } else {
                    sharedDone = true
                    for (key, channel) in feed.channels where !detached.contains(key) { channel.ended.store(true, ordering: .releasing) }
                    break
                }
                let key = record.queueKey.rawValue
                if detached.contains(key) || isDropped(key) {
                    sharedPending = nil
                    progressed = true
                    continue
                }
                if push(record) {
                    sharedPending = nil
                    progressed = true
                    continue
                }
                sharedPending = record
                // Full. Wait, unless that would leave another queue without records.
                guard anotherStarves(besides: key), let own = try shared.following(record.queueKey) else { break }
                detached.insert(key)
                detachedQueues.append(record.queueKey)
                lanes.append(Lane(queue: record.queueKey, cursor: own))
                sharedPending = nil
                progressed = true
            }
            return progressed
        }

        mutating func end(_ l: Int) {
            lanes[l].done = true
            feed.channels[lanes[l].queue.rawValue]?.ended.store(true, ordering: .releasing)
        }

        mutating func advanceLane(_ l: Int) throws -> Bool {
            var progressed = false
            while !lanes[l].done {
                if isDropped(lanes[l].queue.rawValue) {
                    end(l)
                    return true
                }
                let record: TraceRecord
                if let pending = lanes[l].pending {
                    record = pending
                } else if let next = try lanes[l].cursor.next() {
                    record = next
                } else {
                    end(l)
                    return true
                }
                guard push(record) else {
                    lanes[l].pending = record
                    return progressed
                }
                lanes[l].pending = nil
                progressed = true
            }
            return progressed
        }
    }
}
