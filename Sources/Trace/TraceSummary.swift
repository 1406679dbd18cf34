/// What `vqtrace traces show` prints: one pass over the records, with bounded memory.
public struct TraceSummary: Sendable {
    public struct QueueCount: Sendable {
        public var queue: QueueKey
        public var requests: UInt64
        public var bytes: UInt64
    }

    public var records: UInt64 = 0
    public var firstSubmitNs: UInt64 = 0
    public var lastSubmitNs: UInt64 = 0
    /// Records per class: read, write, flush, other.
    public var mix: [UInt64] = [0, 0, 0, 0]
    public var bytesRead: UInt64 = 0
    public var bytesWritten: UInt64 = 0
    public var perQueue: [QueueCount] = []
    /// Requests with data by size: bucket k counts lengths in [2^k, 2^(k+1)) bytes.
    public var sizeHistogram: [UInt64] = Array(repeating: 0, count: 33)
    /// Requests submitted in each of `timelineBuckets` equal slices of the trace's duration.
    public var timeline: [UInt64] = []
    public var timelineBucketNs: UInt64 = 1
    /// Latency percentiles (ns) over records with a completion time: p50, p99, p99.9; nil without.
    public var latencyPercentilesNs: [UInt64]?
    /// Chunks that could not be read and were left out of every figure above.
    public var damagedChunks: [DamagedChunk] = []

    public var durationNs: UInt64 { lastSubmitNs - firstSubmitNs }

    /// Reads every record of `reader` once. A damaged chunk is skipped and listed in
    /// `damagedChunks`, not an error: the rest of the trace is still worth summarizing.
    public init(reader: TraceReader, timelineBuckets: Int = 60) throws(TraceFileError) {
        firstSubmitNs = reader.totals.firstSubmitNs
        lastSubmitNs = reader.totals.lastSubmitNs
        let buckets = max(1, timelineBuckets)
        timelineBucketNs = max(1, (lastSubmitNs - firstSubmitNs) / UInt64(buckets) + 1)
        timeline = Array(repeating: 0, count: buckets)
        var queues: [UInt32: (UInt64, UInt64)] = [:]
        // Latencies in a log2 histogram with 16 linear sub-buckets: bounded memory, ~6% resolution.
        var latency = [UInt64](repeating: 0, count: 64 * 16)
        var latencyCount: UInt64 = 0
        var cursor = reader.cursor(skippingDamagedChunks: true)
        defer { damagedChunks = cursor.damaged }
        while let r = try cursor.next() {
            records += 1
            mix[r.type.mixClass.rawValue] += 1
            let length = UInt64(r.length)
            if r.type == .read { bytesRead += length }
            if r.type == .write { bytesWritten += length }
            queues[r.queueKey.rawValue, default: (0, 0)].0 += 1
            queues[r.queueKey.rawValue, default: (0, 0)].1 += length
            if r.length > 0 { sizeHistogram[min(32, 31 - r.length.leadingZeroBitCount)] += 1 }
            timeline[min(buckets - 1, Int((r.submitNs - firstSubmitNs) / timelineBucketNs))] += 1
            if let ns = r.latencyNs {
                latency[Self.latencyBucket(ns)] += 1
                latencyCount += 1
            }
        }
        // Every vq of every device, in order: a vq the trace never used counts 0 rather than
        // disappearing from the summary.
        perQueue = reader.metadata.devices.enumerated().flatMap { d, device in
            (0..<device.numQueues).map { vq in
                let key = QueueKey(device: UInt16(d), vq: vq)
                let counted = queues[key.rawValue] ?? (0, 0)
                return QueueCount(queue: key, requests: counted.0, bytes: counted.1)
            }
        }
        if latencyCount > 0 {
            latencyPercentilesNs = [0.50, 0.99, 0.999].map { p in
                let target = UInt64((Double(latencyCount) * p).rounded(.up))
                var seen: UInt64 = 0
                for (bucket, count) in latency.enumerated() {
                    seen += count
                    if seen >= target { return Self.latencyBucketUpperBound(bucket) }
                }
                return Self.latencyBucketUpperBound(latency.count - 1)
            }
        }
    }

    static func latencyBucket(_ ns: UInt64) -> Int {
        guard ns >= 16 else { return Int(ns) }
        let exponent = 63 - ns.leadingZeroBitCount  // ≥ 4
        let sub = Int((ns >> UInt64(exponent - 4)) & 15)
        return (exponent - 3) * 16 + sub
    }

    static func latencyBucketUpperBound(_ bucket: Int) -> UInt64 {
        guard bucket >= 16 else { return UInt64(bucket) }
        let exponent = bucket / 16 + 3
        let sub = UInt64(bucket % 16)
        return ((16 + sub + 1) << UInt64(exponent - 4)) &- 1
    }

    /// The timeline as a one-line text sparkline (▁…█), scaled to its own peak.
    public var sparkline: String {
        let bars = Array("▁▂▃▄▅▆▇█")
        let peak = timeline.max() ?? 0
        guard peak > 0 else { return String(repeating: "▁", count: timeline.count) }
        return String(timeline.map { bars[Int((Double($0) / Double(peak) * 7).rounded())] })
    }
}
