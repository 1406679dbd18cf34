import Foundation
import Trace

/// Runs the OLTP model as a discrete-event simulation with nominal service times and hands
/// each request to `emit` in submit-time order. Deterministic for a seed.
public struct OLTPGenerator {
    public let parameters: OLTPParameters
    public private(set) var transactions: UInt64 = 0

    private enum Event {
        case userReady(user: Int)
        case read(user: Int, remaining: Int)
        case groupClose
        case logWrite(bytes: UInt64, users: [Int])
        case flush(users: [Int])
        case usersResume(users: [Int])
        case checkpoint
        case checkpointWrite(page: UInt64, pages: UInt32)
    }

    /// An event at its time; `sequence` keeps events of the same time in the order they were scheduled.
    private struct Scheduled: Comparable {
        var time: UInt64
        var sequence: UInt64
        var event: Event

        static func < (a: Scheduled, b: Scheduled) -> Bool { (a.time, a.sequence) < (b.time, b.sequence) }
        static func == (a: Scheduled, b: Scheduled) -> Bool { (a.time, a.sequence) == (b.time, b.sequence) }
    }

    private var events = MinHeap<Scheduled>()
    private var sequence: UInt64 = 0
    private var random: WorkloadRandom
    private var dirty = Set<UInt64>()
    private var loggedSinceCheckpoint = Set<UInt64>()
    private var group: [Int] = []
    private var groupBytes: UInt64 = 0
    private var logPosition: UInt64 = 0
    private var logBusyUntil: UInt64 = 0
    private let dataPages: UInt64
    private let hotPages: UInt64
    private let logStartSector: UInt64
    private let logSectors: UInt64
    private let endNs: UInt64

    /// Refuses parameters the model cannot run with (`OLTPParameters.validate`).
    public init(_ parameters: OLTPParameters) throws(WorkloadError) {
        try parameters.validate()
        self.parameters = parameters
        random = WorkloadRandom(seed: parameters.seed)
        let sectors = parameters.capacityBytes / 512
        // The log area is a whole number of WAL segments (or of 64 KiB), so segments are aligned.
        let unit = parameters.logSegmentBytes > 0 ? parameters.logSegmentBytes / 512 : 128
        logSectors = max(UInt64(Double(sectors) * parameters.logFraction) / unit * unit, unit)
        logStartSector = sectors - logSectors
        dataPages = logStartSector * 512 / UInt64(parameters.pageBytes)
        hotPages = max(1, UInt64(Double(dataPages) * parameters.hotPageShare))
        endNs = UInt64(parameters.durationSeconds * 1e9)
    }

    public static func metadata(_ p: OLTPParameters) -> TraceMetadata {
        TraceMetadata(
            devices: [.init(name: "vda", capacitySectors: p.capacityBytes / 512, logicalBlockSize: 512, numQueues: UInt16(p.vcpus), queueSize: 256)],
            source: .init(kind: "synthetic", name: p.name, parameters: p.asParameters),
            // No wall clock: the same seed and parameters give the same bytes.
            createdAt: Date(timeIntervalSince1970: 0))
    }

    @inline(__always) private static func ns(_ seconds: Double) -> UInt64 { UInt64((seconds * 1e6).rounded()) * 1000 }

    private mutating func schedule(_ time: UInt64, _ event: Event) {
        sequence += 1
        events.push(Scheduled(time: time, sequence: sequence, event: event))
    }

    /// A buffer-cache miss: a page from the hot set most of the time.
    private mutating func randomPage() -> UInt64 {
        if random.unit() < parameters.hotAccessShare {
            // Hot pages are spread over the data area, not packed at its start.
            let hot = random.below(hotPages)
            return hot * (dataPages / hotPages)
        }
        return random.below(dataPages)
    }

    private func userVQ(_ user: Int) -> UInt16 { parameters.userVQs[user % parameters.userVQs.count] }

    /// Generates the whole trace, calling `emit` for each request in submit-time order.
    public mutating func run(_ emit: (TraceRecord) throws -> Void) rethrows {
        let p = parameters
        let sectorsPerPage = UInt64(p.pageBytes / 512)
        // Users start spread over the first 10 ms, as HammerDB ramps them.
        for user in 0..<p.users { schedule(UInt64(random.below(10_000)) * 1000, .userReady(user: user)) }
        if p.checkpointIntervalSeconds > 0 { schedule(Self.ns(p.checkpointIntervalSeconds), .checkpoint) }

        while let next = events.popMin() {
            let now = next.time
            switch next.event {
            case .userReady(let user):
                guard now < endNs else { continue }
                // Buffer-cache misses: a geometric count with the configured mean.
                var misses = 0
                let stop = 1 / (1 + p.readsPerTransaction)
                while random.unit() >= stop { misses += 1 }
                schedule(now, .read(user: user, remaining: misses))

            case .read(let user, let remaining):
                if remaining > 0 {
                    let page = randomPage()
                    let service = Self.ns(p.readServiceSeconds)
                    try emit(TraceRecord(vq: userVQ(user), type: .read, sector: page * sectorsPerPage, length: p.pageBytes,
                                         submitNs: now, completionNs: now + service))
                    schedule(now + service, .read(user: user, remaining: remaining - 1))
                    continue
                }
                // Commit: dirty pages, log bytes, join the open group (or open one).
                var bytes = min(max(random.logNormal(median: p.commitLogMedianBytes, sigma: p.commitLogSigma), 512), 61_440)
                var dirtied = 0
                let dirtyTarget = p.dirtiedPagesPerTransaction
                while Double(dirtied) < dirtyTarget.rounded(.down) || (Double(dirtied) < dirtyTarget && random.unit() < dirtyTarget - dirtyTarget.rounded(.down)) {
                    let page = randomPage()
                    dirty.insert(page)
                    if p.fullPageWriteAfterCheckpoint && loggedSinceCheckpoint.insert(page).inserted { bytes += Double(p.pageBytes) }
                    dirtied += 1
                }
                groupBytes += UInt64(bytes)
                group.append(user)
                if group.count == 1 { schedule(now + Self.ns(p.groupCommitWindowSeconds), .groupClose) }

            case .groupClose:
                guard !group.isEmpty else { continue }
                let users = group
                let bytes = (groupBytes + 511) / 512 * 512
                group = []
                groupBytes = 0
                schedule(max(now, logBusyUntil), .logWrite(bytes: bytes, users: users))

            case .logWrite(let bytes, let users):
                // One write of at most 60 KiB, never across a WAL segment boundary; the rest,
                // then the FLUSH, follow as their own events (records leave in time order).
                var chunk = min(bytes, 61_440)
                if p.logSegmentBytes > 0 {
                    let segmentSectors = p.logSegmentBytes / 512
                    chunk = min(chunk, (segmentSectors - logPosition % segmentSectors) * 512)
                }
                if logPosition + chunk / 512 > logSectors { logPosition = 0 }
                let service = Self.ns(p.writeServiceSeconds)
                try emit(TraceRecord(vq: p.logVQ, type: .write, sector: logStartSector + logPosition, length: UInt32(chunk),
                                     submitNs: now, completionNs: now + service))
                logPosition += chunk / 512
                logBusyUntil = now + service
                schedule(now + service, bytes > chunk ? .logWrite(bytes: bytes - chunk, users: users) : .flush(users: users))

            case .flush(let users):
                let service = Self.ns(p.flushServiceSeconds)
                try emit(TraceRecord(vq: p.logVQ, type: .flush, sector: 0, length: 0, submitNs: now, completionNs: now + service))
                logBusyUntil = now + service
                schedule(now + service, .usersResume(users: users))

            case .usersResume(let users):
                transactions += UInt64(users.count)
                for user in users {
                    let pause = (p.thinkSeconds > 0 ? random.exponential(mean: p.thinkSeconds) : 0) + p.keyingSeconds
                    schedule(now + Self.ns(pause), .userReady(user: user))
                }

            case .checkpoint:
                guard now < endNs else { continue }
                // Write every dirty page, sorted and merged, spread at the writer's rate.
                let pages = dirty.sorted()
                dirty.removeAll(keepingCapacity: true)
                loggedSinceCheckpoint.removeAll(keepingCapacity: true)
                let mergePages = UInt32(p.checkpointMergeBytes / p.pageBytes)
                var i = 0
                var n = 0
                while i < pages.count {
                    var run: UInt32 = 1
                    while i + Int(run) < pages.count && run < mergePages && pages[i + Int(run)] == pages[i] + UInt64(run) { run += 1 }
                    schedule(now + Self.ns(Double(n) / p.checkpointWritesPerSecond), .checkpointWrite(page: pages[i], pages: run))
                    i += Int(run)
                    n += 1
                }
                schedule(now + Self.ns(p.checkpointIntervalSeconds), .checkpoint)

            case .checkpointWrite(let page, let pages):
                guard now < endNs else { continue }
                let service = Self.ns(p.writeServiceSeconds)
                try emit(TraceRecord(vq: p.writerVQ, type: .write, sector: page * sectorsPerPage, length: pages * p.pageBytes,
                                     submitNs: now, completionNs: now + service))
            }
        }
    }
}
