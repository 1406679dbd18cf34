import Trace

/// What one pass over a trace learns for a comparison or a picture: per vq, requests by class,
/// submissions per time bucket, gaps between submissions, latencies and the in-flight depth each
/// submission met; per device, where on the disk requests went over time. Fixed memory but for
/// the timelines (one counter per bucket per vq) and the in-flight completions of each vq.
public struct TraceProfile: Sendable {
    /// One vq's figures.
    public struct Queue: Sendable {
        public var key: QueueKey
        /// Requests per class: read, write, flush, other.
        public var mix: [UInt64] = [0, 0, 0, 0]
        public var requests: UInt64 { mix.reduce(0, +) }
        /// Submissions per timeline bucket.
        public var timeline: [UInt64] = []
        public var interArrival = LogHistogram()
        public var latency = LogHistogram()
        /// The requests still in flight (of this vq) when each one was submitted.
        public var depth = LogHistogram()
        var lastSubmit: UInt64?
        var inFlight = MinHeap<UInt64>()
    }

    /// Submissions by time column and LBA row of one device.
    public struct HeatMap: Sendable {
        public static let columns = 120, rows = 48
        public var capacitySectors: UInt64
        public var cells = [UInt64](repeating: 0, count: columns * rows)
    }

    public let metadata: TraceMetadata
    public let firstSubmitNs: UInt64
    public let lastSubmitNs: UInt64
    /// The timeline's bucket: 100 ms, wider for traces of more than 5,000 s.
    public let bucketNs: UInt64
    /// Every vq's figures, in vq order; `index` finds a vq's place (the per-record path mutates
    /// them in place: a dictionary of structs would copy each vq's histograms per record).
    public private(set) var queueList: [Queue] = []
    /// Where a vq's figures are: `deviceBase[device] + vq` (no hashing per record).
    let deviceBase: [Int]
    public var queues: [QueueKey: Queue] { Dictionary(uniqueKeysWithValues: queueList.map { ($0.key, $0) }) }
    public private(set) var heatMaps: [HeatMap]
    public private(set) var records: UInt64 = 0
    public private(set) var damaged: [DamagedChunk] = []

    public var spanNs: UInt64 { lastSubmitNs - firstSubmitNs }

    /// An empty profile for `reader`'s trace (its devices, vqs and time range come from its index).
    public init(of reader: TraceReader, bucketNs: UInt64 = 100_000_000) {
        metadata = reader.metadata
        firstSubmitNs = reader.totals.firstSubmitNs
        lastSubmitNs = reader.totals.lastSubmitNs
        let span = reader.totals.lastSubmitNs - reader.totals.firstSubmitNs
        self.bucketNs = max(bucketNs, span / 50_000 + 1)
        var bases: [Int] = []
        for (d, device) in metadata.devices.enumerated() {
            bases.append(queueList.count)
            for vq in 0..<device.numQueues { queueList.append(Queue(key: QueueKey(device: UInt16(d), vq: vq))) }
        }
        deviceBase = bases
        heatMaps = metadata.devices.map { HeatMap(capacitySectors: max($0.capacitySectors, 1)) }
    }

    /// Takes one record (in the trace's order).
    public mutating func add(_ r: TraceRecord) {
        records += 1
        let relative = r.submitNs - min(r.submitNs, firstSubmitNs)
        // A writer refuses records of devices or vqs the metadata lacks, so every record has a place.
        let i = deviceBase[Int(r.device)] + Int(r.vq)
        queueList[i].mix[r.type.mixClass.rawValue] += 1
        let bucket = Int(relative / bucketNs)
        if queueList[i].timeline.count <= bucket { queueList[i].timeline += [UInt64](repeating: 0, count: bucket + 1 - queueList[i].timeline.count) }
        queueList[i].timeline[bucket] += 1
        if let last = queueList[i].lastSubmit { queueList[i].interArrival.add(r.submitNs - min(r.submitNs, last)) }
        queueList[i].lastSubmit = r.submitNs
        while let done = queueList[i].inFlight.min, done <= r.submitNs { queueList[i].inFlight.popMin() }
        queueList[i].depth.add(UInt64(queueList[i].inFlight.count))
        if let completion = r.completionNs {
            queueList[i].latency.add(completion - r.submitNs)
            queueList[i].inFlight.push(completion)
        }
        if r.type.addressesSectors, Int(r.device) < heatMaps.count {
            let map = heatMaps[Int(r.device)]
            let column = min(HeatMap.columns - 1, Int(Double(relative) / Double(max(spanNs, 1)) * Double(HeatMap.columns)))
            let row = min(HeatMap.rows - 1, Int(Double(r.sector) / Double(map.capacitySectors) * Double(HeatMap.rows)))
            heatMaps[Int(r.device)].cells[row * HeatMap.columns + column] += 1
        }
    }

    /// Notes the chunks a cursor skipped.
    public mutating func noteDamage(_ chunks: [DamagedChunk]) { damaged = chunks }

    /// The vqs in order.
    public var orderedQueues: [Queue] { queueList.sorted { $0.key < $1.key } }

    /// Every vq's timeline summed.
    public var timeline: [UInt64] {
        var sum: [UInt64] = []
        for q in queueList {
            if sum.count < q.timeline.count { sum += [UInt64](repeating: 0, count: q.timeline.count - sum.count) }
            for (i, n) in q.timeline.enumerated() { sum[i] += n }
        }
        return sum
    }

    /// Every vq's distribution merged.
    public func merged(_ distribution: KeyPath<Queue, LogHistogram>) -> LogHistogram {
        var all = LogHistogram()
        for q in queueList { all.merge(q[keyPath: distribution]) }
        return all
    }

    /// Reads the whole trace (damaged chunks skipped and noted).
    public static func read(_ reader: TraceReader) throws -> TraceProfile {
        var profile = TraceProfile(of: reader)
        var cursor = reader.cursor(skippingDamagedChunks: true)
        while let r = try cursor.next() { profile.add(r) }
        profile.noteDamage(cursor.damaged)
        return profile
    }
}

extension LogHistogram {
    /// Adds another histogram's samples.
    public mutating func merge(_ other: LogHistogram) {
        for i in counts.indices where other.counts[i] > 0 { addCount(other.counts[i], atBucket: i) }
        addTotals(other.total, other.sum)
    }
}
