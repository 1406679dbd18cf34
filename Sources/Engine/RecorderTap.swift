import Foundation
import Synchronization

/// One request as the device saw it: popped at `submitNs`, pushed to the used ring at
/// `completionNs` (CLOCK_MONOTONIC), on `vq` of the engine's device number `device`.
public struct TapRecord: Sendable {
    public var device: UInt16
    public var vq: UInt16
    public var type: UInt32
    public var sector: UInt64
    public var length: UInt32
    public var submitNs: UInt64
    public var completionNs: UInt64
    public var status: UInt8
    /// The request's place in its IOThread's pop order (requests of one vq are popped by one
    /// IOThread, so it orders a vq's requests that share a pop time).
    public var popOrder: UInt64 = 0
}

/// The recorder's tap in one IOThread: a single-producer single-consumer ring that the IOThread
/// fills as requests complete and a collector thread drains. The hot path never blocks or
/// allocates: when the ring is full the record is counted as dropped.
public final class RecorderTap: @unchecked Sendable {
    private let ring: SPSCRing<TapRecord>
    // The tap's counters belong to its IOThread, the sink's to the sink thread: no runtime
    // exclusivity checks per record.
    /// Written by the producer only.
    @exclusivity(unchecked) public private(set) var dropped: UInt64 = 0

    public init(capacity: Int = 1 << 16) {
        ring = SPSCRing(capacity: capacity)
    }

    @inline(__always) func push(_ record: TapRecord) {
        if !ring.push(record) { dropped += 1 }
    }

    /// Hands every waiting record to `body` (consumer side).
    public func drain(_ body: (TapRecord) -> Void) {
        ring.drain(body)
    }
}

/// Collects the taps of a run into one stream in submit-time order, off the hot path: a thread
/// drains the taps every millisecond and, every 50 ms, sorts what it holds and passes on the
/// records older than the reorder window (requests complete out of order; one still in flight
/// after the window would arrive late: it is placed at the last time already passed on, and
/// counted). Sorting in batches costs a few percent of a CPU where a heap cost half of one.
public final class RecordingSink: @unchecked Sendable {
    public let windowNs: UInt64
    private let emit: (TapRecord) throws -> Void
    // The tap's counters belong to its IOThread, the sink's to the sink thread: no runtime
    // exclusivity checks per record.
    @exclusivity(unchecked) private(set) var taps: [RecorderTap] = []
    @exclusivity(unchecked) private var pending: [TapRecord] = []
    @exclusivity(unchecked) private var lastEmitted: UInt64 = 0
    private var thread: Thread?
    private let stopFlag = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    /// Records that arrived after later ones had been passed on (their submit time was raised).
    @exclusivity(unchecked) public private(set) var reordered: UInt64 = 0
    public private(set) var error: Error?
    @exclusivity(unchecked) public private(set) var recorded: UInt64 = 0

    public init(windowNs: UInt64 = 200_000_000, emit: @escaping (TapRecord) throws -> Void) {
        self.windowNs = windowNs
        self.emit = emit
    }

    /// A tap for one IOThread (before the run starts).
    public func makeTap() -> RecorderTap {
        let tap = RecorderTap()
        taps.append(tap)
        return tap
    }

    public var dropped: UInt64 { taps.reduce(0) { $0 + $1.dropped } }

    public func start() {
        let thread = Thread { [self] in
            var lastSort = monotonicNs()
            while !stopFlag.load(ordering: .acquiring) {
                for tap in taps { tap.drain { pending.append($0) } }
                let now = monotonicNs()
                if now - lastSort >= 50_000_000 {
                    collect(olderThan: now &- windowNs)
                    lastSort = now
                }
                usleep(1000)
            }
            collect(olderThan: .max)
            done.signal()
        }
        thread.name = "vqtrace-recorder"
        self.thread = thread
        thread.start()
    }

    /// Drains what is left and passes everything on (after the IOThreads have stopped).
    public func finish() {
        guard thread != nil else { return }
        stopFlag.store(true, ordering: .releasing)
        done.wait()
        thread = nil
    }

    private func collect(olderThan limit: UInt64) {
        for tap in taps { tap.drain { pending.append($0) } }
        // By pop time, then pop order: a vq's requests popped in one pass (one clock read) keep
        // the order the device popped them in.
        pending.sort { ($0.submitNs, $0.popOrder) < ($1.submitNs, $1.popOrder) }
        var passed = 0
        while passed < pending.count && pending[passed].submitNs < limit {
            var record = pending[passed]
            passed += 1
            if record.submitNs < lastEmitted {
                record.submitNs = lastEmitted
                record.completionNs = max(record.completionNs, lastEmitted)
                reordered += 1
            }
            lastEmitted = record.submitNs
            guard error == nil else { continue }
            do {
                try emit(record)
                recorded += 1
            } catch {
                self.error = error
            }
        }
        pending.removeFirst(passed)
    }
}
