import Engine
import Trace
import Virtio

/// Counts one source keeps for the runner to read after the run (one per source, written by its
/// driver thread only, read after the thread is joined).
public final class SourceTally: @unchecked Sendable {
    public var replayed: UInt64 = 0
    public var skipped: UInt64 = 0
    public init() {}
}

/// One vq's recorded stream as a vCPU driver's request source. It reads ahead from its own
/// trace reader (one decoded chunk in memory) and decides when each request may go:
/// open-loop at its deadline, closed-loop when the recorded in-flight depth allows, or at once.
public struct TraceReplaySource: RequestSource {
    public let options: ReplayOptions
    private let feed: ReplayFeed
    private let queue: QueueKey
    private let clock: RunClock
    /// This copy's start offset (the `--vms` jitter).
    private let offsetNs: UInt64
    private var lookahead: TraceRecord?
    private var done = false
    /// Completion times of this queue's earlier recorded requests still in flight at the
    /// current request's submit time (a min-heap): its size is the recorded depth.
    private var recordedInFlight = MinHeap<UInt64>()
    public let tally: SourceTally

    /// - Parameter feed: reads the trace ahead for every queue of the run (one reader thread).
    public init(feed: ReplayFeed, device: UInt16, vq: UInt16, options: ReplayOptions, clock: RunClock, offsetNs: UInt64 = 0,
                enabled: Bool = true, tally: SourceTally = SourceTally()) {
        self.options = options
        self.tally = tally
        self.clock = clock
        self.offsetNs = offsetNs
        self.feed = feed
        queue = QueueKey(device: device, vq: vq)
        done = !enabled
    }

    public var isExhausted: Bool { done && lookahead == nil }

    public mutating func next() -> PlannedRequest? {
        if case .submit(let request) = step(inFlight: 0) { return request }
        return nil
    }

    /// The next record worth replaying, or nil at the end.
    private mutating func peek() -> TraceRecord? {
        while lookahead == nil && !done {
            do {  // (a block, so that `continue` skips a record)
                guard var record = feed.next(for: queue) else {
                    done = true
                    break
                }
                switch record.type {
                case .write where options.writes == .skip:
                    tally.skipped += 1
                    continue
                case .write where options.writes == .asReads:
                    record.type = .read
                // DISCARD and WRITE_ZEROES change data too: a read-only replay leaves them out.
                case .discard where options.writes != .asIs, .writeZeroes where options.writes != .asIs:
                    tally.skipped += 1
                    continue
                case .read, .write, .flush, .discard, .writeZeroes, .getID:
                    break
                default:
                    tally.skipped += 1
                    continue
                }
                if (record.type == .read || record.type == .write) && (Int(record.length) > options.maxRequestBytes || record.length % 512 != 0) {
                    tally.skipped += 1
                    continue
                }
                lookahead = record
            }
        }
        return lookahead
    }

    public mutating func step(inFlight: Int) -> SourceStep {
        guard let record = peek() else { return .exhausted }
        switch options.timing {
        case .afap:
            break
        case .closed:
            // Drop the recorded requests that had completed when this one was submitted.
            // Without completion times there is no recorded depth: such requests go at once.
            while let first = recordedInFlight.min, first <= record.submitNs { recordedInFlight.popMin() }
            if record.completionNs != nil && inFlight > recordedInFlight.count { return .waitForCompletion }
        case .open:
            break
        }
        lookahead = nil
        if options.timing == .closed, let completion = record.completionNs { recordedInFlight.push(completion) }
        tally.replayed += 1
        var deadline: UInt64 = 0
        if options.timing == .open {
            let relative = Double(record.submitNs - min(record.submitNs, options.fromNs)) / options.speed
            deadline = clock.epochNs + offsetNs + UInt64(relative)
        }
        let type = VirtioBlkRequestType(rawValue: record.type.rawValue) ?? .read
        return .submit(PlannedRequest(type: type, sector: record.sector, length: record.type == .flush ? 0 : record.length, deadlineNs: deadline))
    }

    public mutating func fill(_ request: PlannedRequest, data: UnsafeMutableRawPointer) {}
    public mutating func completed(_ request: PlannedRequest, status: UInt8, data: UnsafeMutableRawPointer) {}
}
