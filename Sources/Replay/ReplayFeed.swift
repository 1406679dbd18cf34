import Engine
import Foundation
import Synchronization
import Trace

/// Reads a trace once, on its own thread, and hands each queue's records to that queue's
/// driver through a bounded single-producer single-consumer ring. Decoding a chunk takes a
/// millisecond or more; doing it here, ahead of time, keeps it off the drivers' schedule (and
/// decodes each chunk once instead of once per queue).
///
/// Memory is bounded: `capacity` records per queue. The reader waits while a queue's ring is
/// full (the queues of one trace advance together in time, so the others drain meanwhile).
public final class ReplayFeed: @unchecked Sendable {
    private let rings: [UInt32: SPSCRing<TraceRecord>]
    private let finishedFlag = Atomic<Bool>(false)
    private let stopFlag = Atomic<Bool>(false)
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    /// The reader's error, if the trace could not be read to the end (set before `finished`).
    public private(set) var error: String?
    /// Damaged chunks the reader skipped (their records are not replayed); set before `finished`.
    public private(set) var damaged: [DamagedChunk] = []

    /// Starts reading the file at `path` in [from, to) for `queues`.
    public convenience init(path: String, from: UInt64, to: UInt64, queues: Set<QueueKey>, capacity: Int = 8192) throws {
        try self.init(trace: .file(path), from: from, to: to, queues: queues, capacity: capacity)
    }

    /// Starts reading `trace` (a file, or a catalog's copy) in [from, to) for `queues`.
    public init(trace: TraceLocation, from: UInt64, to: UInt64, queues: Set<QueueKey>, capacity: Int = 8192) throws {
        let reader = try trace.open()
        var rings: [UInt32: SPSCRing<TraceRecord>] = [:]
        for key in queues { rings[key.rawValue] = SPSCRing(capacity: capacity) }
        self.rings = rings
        let ringsByQueue = rings
        let thread = Thread { [self] in
            var cursor = reader.cursor(from: from, to: to, queues: queues, skippingDamagedChunks: true)
            do {
                while !stopFlag.load(ordering: .relaxed), let record = try cursor.next() {
                    guard let ring = ringsByQueue[record.queueKey.rawValue] else { continue }
                    while !ring.push(record) && !stopFlag.load(ordering: .relaxed) { usleep(200) }
                }
            } catch {
                self.error = "\(error)"
            }
            self.damaged = cursor.damaged
            finishedFlag.store(true, ordering: .releasing)
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

    /// The next record of `queue`: nil when the trace has no more for it; waits (briefly
    /// spinning, then sleeping) while the reader is behind.
    func next(for queue: QueueKey) -> TraceRecord? {
        guard let ring = rings[queue.rawValue] else { return nil }
        var spins = 0
        while true {
            if let record = ring.pop() { return record }
            // A record stored before `finished` was set is visible once `finished` is seen.
            if finishedFlag.load(ordering: .acquiring) { return ring.pop() }
            spins += 1
            if spins > 1000 { usleep(50) }
        }
    }

}
