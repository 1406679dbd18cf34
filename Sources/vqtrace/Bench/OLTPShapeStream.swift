import Trace

/// A stand-in for the OLTP workload model (issue 7) with the shape the trace format is sized
/// for: 8 vqs on a 100 GiB device; 8 KiB random reads and writes over the data area, and on vq 0
/// sequential log writes (512 B multiples, median near 8 KiB), each followed by a FLUSH.
/// Timestamps are whole microseconds, as a recorder on a real host produces; completions are
/// submit + a latency of tens to hundreds of µs. Deterministic for a seed.
struct OLTPShapeStream {
    /// The default device: 100 GiB, the size the trace format is sized for.
    static let defaultCapacitySectors: UInt64 = 100 << 21
    static let queues: UInt16 = 8
    /// The log is the last 4% of the device (4 GiB of 100); the data area is the rest.
    static func logStart(capacitySectors: UInt64) -> UInt64 { capacitySectors - capacitySectors / 25 / 16 * 16 }
    static let logStartSector: UInt64 = logStart(capacitySectors: defaultCapacitySectors)
    let capacitySectors: UInt64
    let logStartSector: UInt64

    private var random: UInt64
    private var nowUs: UInt64 = 0
    private var logSector: UInt64
    private var pendingFlush: TraceRecord?
    let withCompletions: Bool
    /// Mean gap between requests (other than a commit's FLUSH), µs.
    let meanGapUs: Double

    /// - Parameter iops: the stream's mean rate; about 137k when not given (an 8 µs mean gap).
    init(seed: UInt64, withCompletions: Bool = true, iops: Double? = nil, capacitySectors: UInt64 = OLTPShapeStream.defaultCapacitySectors) {
        precondition(capacitySectors >= 1 << 12, "the OLTP shape needs at least 2 MiB")
        self.capacitySectors = capacitySectors
        logStartSector = Self.logStart(capacitySectors: capacitySectors)
        logSector = logStartSector
        random = seed | 1
        self.withCompletions = withCompletions
        // 12% of requests are commits, each followed by a FLUSH 3 µs later on average.
        meanGapUs = iops.map { max(0.5, (1e6 / $0 * 1.12 - 0.12 * 3)) } ?? 8
    }

    static var metadata: TraceMetadata { metadata(capacitySectors: defaultCapacitySectors) }

    static func metadata(capacitySectors: UInt64) -> TraceMetadata {
        TraceMetadata(
            devices: [.init(name: "vda", capacitySectors: capacitySectors, logicalBlockSize: 512, numQueues: queues, queueSize: 256)],
            source: .init(kind: "benchmark", name: "oltp-shape", parameters: ["queues": "8", "device": "100GiB"]))
    }

    private mutating func next64() -> UInt64 {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random
    }

    /// A uniform value in 0..<bound.
    private mutating func below(_ bound: UInt64) -> UInt64 { next64() % bound }

    /// Exponentially distributed microseconds with the given mean (at least 1).
    private mutating func exponentialUs(mean: Double) -> UInt64 {
        let u = Double(next64() >> 11) / Double(1 << 53)
        return max(1, UInt64(-mean * log(1 - u)))
    }

    mutating func next() -> TraceRecord {
        if var flush = pendingFlush {
            pendingFlush = nil
            nowUs += exponentialUs(mean: 3)
            flush.submitNs = nowUs * 1000
            flush.completionNs = withCompletions ? (nowUs + exponentialUs(mean: 40)) * 1000 : nil
            return flush
        }
        nowUs += exponentialUs(mean: meanGapUs)
        let choice = below(100)
        var record: TraceRecord
        if choice < 12 {
            // Commit: a log write on vq 0, 512 B..60 KiB in 512 B steps, median near 8 KiB.
            let blocks = min(120, max(1, UInt64(exponentialUs(mean: 16))))
            if logSector + blocks > capacitySectors { logSector = logStartSector }
            record = TraceRecord(vq: 0, type: .write, sector: logSector, length: UInt32(blocks * 512), submitNs: nowUs * 1000)
            logSector += blocks
            pendingFlush = TraceRecord(vq: 0, type: .flush, sector: 0, length: 0, submitNs: 0)
        } else {
            let page = below(logStartSector / 16)
            let vq = UInt16(1 + below(UInt64(Self.queues - 1)))
            let type: TraceRequestType = choice < 70 ? .read : .write
            record = TraceRecord(vq: vq, type: type, sector: page * 16, length: 8192, submitNs: nowUs * 1000)
        }
        if withCompletions {
            record.completionNs = (nowUs + exponentialUs(mean: record.type == .read ? 120 : 60)) * 1000
        }
        return record
    }

    /// The same request as one fio v3 iolog line (µs timestamp, file, action, byte offset, length).
    static func fioIologLine(_ r: TraceRecord) -> String {
        let us = r.submitNs / 1000
        switch r.type {
        case .flush: return "\(us) /dev/vda sync 0 0"
        case .read: return "\(us) /dev/vda read \(r.sector * 512) \(r.length)"
        default: return "\(us) /dev/vda write \(r.sector * 512) \(r.length)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
