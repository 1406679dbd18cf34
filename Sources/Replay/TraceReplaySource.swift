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

/// One vq's recorded stream as a vCPU driver's request source. Its records come from the
/// replay's feed (decoded ahead on the feed's thread); it decides when each request may go:
/// open-loop at its deadline, closed-loop when the recorded in-flight depth allows, with think
/// time also after the recorded gap since what it followed, or at once. It never waits: a
/// feed that is behind makes it say `.notReady`.
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
    private var recordedInFlight = MinHeap<RecordedCompletion>()
    /// Think timing: what each request followed, and when the replay did it.
    private var think: ThinkTime?
    /// The number of the next request handed out (its `PlannedRequest.tag`).
    private var nextTag: UInt64 = 0
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
        if options.timing == .think { think = ThinkTime() }
    }

    public var isExhausted: Bool { done && lookahead == nil }

    /// The next record worth replaying; nil at the end, or (with `behind`) when the feed has not
    /// got there yet.
    private mutating func peek(behind: inout Bool) -> TraceRecord? {
        while lookahead == nil && !done {
            do {  // (a block, so that `continue` skips a record)
                var record: TraceRecord
                switch feed.next(for: queue) {
                case .record(let next): record = next
                case .end:
                    done = true
                    continue
                case .notYet:
                    behind = true
                    return nil
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
        var behind = false
        guard let record = peek(behind: &behind) else { return behind ? .notReady : .exhausted }
        var deadline: UInt64 = 0
        switch options.timing {
        case .afap:
            break
        case .closed, .think:
            // Drop the recorded requests that had completed when this one was submitted; the
            // latest of them is the completion this one may have followed.
            while let first = recordedInFlight.min, first.ns <= record.submitNs {
                recordedInFlight.popMin()
                think?.recordedCompletion(first)
            }
            // Without completion times there is no recorded depth: such requests go at once.
            if record.completionNs != nil && inFlight > recordedInFlight.count { return .waitForCompletion }
            if think != nil {
                let origin = clock.epochNs + offsetNs
                guard let due = think!.deadline(of: record, tag: nextTag, origin: origin, speed: options.speed) else { return .waitForCompletion }
                deadline = due
            }
        case .open:
            let relative = Double(record.submitNs - min(record.submitNs, options.fromNs)) / options.speed
            deadline = clock.epochNs + offsetNs + UInt64(relative)
        }
        lookahead = nil
        if let completion = record.completionNs, options.timing == .closed || options.timing == .think {
            recordedInFlight.push(RecordedCompletion(ns: completion, tag: nextTag))
        }
        think?.submitted(record, deadline: deadline)
        tally.replayed += 1
        let type = VirtioBlkRequestType(rawValue: record.type.rawValue) ?? .read
        defer { nextTag += 1 }
        return .submit(PlannedRequest(type: type, sector: record.sector, length: record.type == .flush ? 0 : record.length,
                                      deadlineNs: deadline, tag: nextTag))
    }

    public mutating func fill(_ request: PlannedRequest, data: UnsafeMutableRawPointer) {}

    public mutating func completed(_ request: PlannedRequest, status: UInt8, data: UnsafeMutableRawPointer) {
        think?.replayedCompletion(of: request)
    }

    /// The driver stopped for good (its device broke): the feed stops reading for this vq.
    public mutating func abandoned() {
        feed.drop(queue)
        done = true
        lookahead = nil
    }
}

/// A recorded request's completion time and the number the source gave the request.
struct RecordedCompletion: Comparable {
    var ns: UInt64
    var tag: UInt64
    static func < (a: Self, b: Self) -> Bool { (a.ns, a.tag) < (b.ns, b.tag) }
}

/// Think-time closed-loop timing, as //TRACE's think-limited replay: a request goes a recorded
/// gap after what it followed in the recording, the completion of an earlier request (when one
/// came after the previous submission) or the previous submission, as that happened in the
/// replay; the recorded depth still applies. A guest's idle time is kept, and a faster or
/// slower device moves what follows its completions.
///
/// The replay's own lateness does not carry on down the chain: a completion counts from the
/// request's deadline plus its replayed latency (not from its late submission), and a
/// submission from its deadline. Otherwise every wake-up a busy host delays would stretch all
/// that follows, and the span would measure the replayer.
struct ThinkTime {
    /// Replay completion times by tag, modulo their count; `completedTag` says whose it is.
    private static let remembered = 8192
    private var completedAt = [UInt64](repeating: 0, count: remembered)
    private var completedTag = [UInt64](repeating: .max, count: remembered)
    /// The latest recorded completion so far at or before the current record's submit time.
    private var lastCompletion: RecordedCompletion?
    /// The previous request: its recorded submit time and when the replay submitted it.
    private var previous: (recordedNs: UInt64, replayedNs: UInt64)?

    mutating func recordedCompletion(_ completion: RecordedCompletion) {
        if completion.ns >= lastCompletion?.ns ?? 0 { lastCompletion = completion }
    }

    /// When `record` (to get `tag`) may go, or nil when the completion it followed has not
    /// happened in the replay yet.
    func deadline(of record: TraceRecord, tag: UInt64, origin: UInt64, speed: Double) -> UInt64? {
        guard let previous else { return origin }
        var base = previous.replayedNs
        var since = previous.recordedNs
        if let completion = lastCompletion, completion.ns >= previous.recordedNs {
            let slot = Int(completion.tag % UInt64(Self.remembered))
            if completedTag[slot] == completion.tag {
                base = completedAt[slot]
                since = completion.ns
            } else if tag - completion.tag < UInt64(Self.remembered) {
                return nil  // still in flight in the replay
            }
            // (Older than what is remembered: the previous submission is the anchor.)
        }
        let gap = record.submitNs >= since ? Double(record.submitNs - since) / speed : 0
        return max(base &+ UInt64(gap), 1)
    }

    mutating func submitted(_ record: TraceRecord, deadline: UInt64) {
        previous = (record.submitNs, deadline)
    }

    mutating func replayedCompletion(of request: PlannedRequest) {
        let slot = Int(request.tag % UInt64(Self.remembered))
        let now = RunClock.nowNs
        let latency = request.submittedNs > 0 && now > request.submittedNs ? now - request.submittedNs : 0
        completedAt[slot] = request.deadlineNs > 0 ? request.deadlineNs + latency : now
        completedTag[slot] = request.tag
    }
}
