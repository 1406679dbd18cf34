import Engine
import Foundation
import Runs
import Units

extension EngineBenchmark {
    /// One pair of an interleaved comparison: the engine and fio on the same target and pattern,
    /// one right after the other.
    public struct Pair: Sendable {
        public var engineFirst: Bool
        public var engineIOPS: Double
        public var engineP50Ns: UInt64
        public var engineP99Ns: UInt64
        public var fioIOPS: Double
        /// fio's completion latency (clat), which leaves its submission call out.
        public var fioP50Ns: Double?
        public var fioP99Ns: Double?
        /// fio's total latency (lat), submission included: what the engine's kick-to-reap
        /// latency compares with.
        public var fioLatP50Ns: Double?
        public var fioLatP99Ns: Double?
        /// The drivers' time-weighted depth and each IOThread's round-trip figures.
        public var driverInFlight: Double
        public var cycles: [IOThreadCycle]
        /// What the engine's run reported as failed (a pair with failures is not a measurement).
        public var failures: [String]
        public var ratio: Double { fioIOPS > 0 ? engineIOPS / fioIOPS : 0 }
    }

    /// Runs `pairs` pairs of the engine and fio, alternating which goes first (the first pair
    /// starts with the engine, which prepares the target fio then reads): a shared, noisy host
    /// drifts, and only figures taken side by side compare.
    public func pairs(_ count: Int) throws -> [Pair] {
        precondition(count >= 1, "at least one pair")
        var pairs: [Pair] = []
        for i in 0..<count {
            let engineFirst = i % 2 == 0
            var engine: EngineResult?
            var fio: FioPeer.Result?
            for step in engineFirst ? [true, false] : [false, true] {
                if step {
                    engine = try run().result
                } else {
                    do { fio = try runFio() } catch FioPeer.FioError.interrupted { return pairs }
                }
                if engine?.interrupted == true || shouldStop?() == true { return pairs }
            }
            guard let engine, let fio else { continue }
            var latency = latencyHistogram()
            for q in engine.queues { latency.add(q.readLatency) }
            pairs.append(Pair(engineFirst: engineFirst, engineIOPS: Double(engine.requests) / engine.wallSeconds,
                              engineP50Ns: latency.valueAtPercentile(50), engineP99Ns: latency.valueAtPercentile(99),
                              fioIOPS: fio.iops, fioP50Ns: fio.readP50Ns, fioP99Ns: fio.readP99Ns, fioLatP50Ns: fio.readLatP50Ns, fioLatP99Ns: fio.readLatP99Ns,
                              driverInFlight: engine.queues.reduce(0) { $0 + $1.meanInFlight }, cycles: engine.iothreads.compactMap(\.cycle), failures: engine.failures))
        }
        return pairs
    }

    /// `pairs` interleaved pairs as a table, with the median ratio and the range.
    public func pairedReport(pairs count: Int) throws -> BenchmarkReport {
        let pairs = try pairs(count)
        struct Row: Encodable {
            var first: String, vqtrace_iops: Double, fio_iops: Double, ratio: Double
            var vqtrace_lat_ns_p50: UInt64, vqtrace_lat_ns_p99: UInt64, fio_clat_ns_p50: Double?, fio_clat_ns_p99: Double?
            var fio_lat_ns_p50: Double?, fio_lat_ns_p99: Double?
            var driver_mean_in_flight: Double, iothreads: [IOThreadCycle]
        }
        struct Document: Encodable {
            var component = "engine"; var layout: String, backend: String, target: String?, rw: String, bs: Int, qd: Int, vqs: Int
            var seconds: Double, poll_completions: Bool, submit_batch: Int
            var pairs: [Row], median_ratio: Double?, ratio_range: [Double], median_p50_added_ns: Double?
        }
        let ratios = pairs.map(\.ratio).sorted()
        // The engine's latency runs from the kick, through its submission, to the reap: set beside
        // fio's lat (submission included), not its clat (from after the submission call).
        let added = pairs.compactMap { p in p.fioLatP50Ns.map { Double(p.engineP50Ns) - $0 } }
        let median = Median.of(ratios)
        let medianAdded = Median.of(added)
        var rows = [["pair", "first", "vqtrace IOPS", "fio IOPS", "vqtrace/fio", "lat p50", "fio lat p50", "lat p99", "fio lat p99", "driver depth", "at backend"]]
        for (i, p) in pairs.enumerated() {
            rows.append(["\(i + 1)", p.engineFirst ? "vqtrace" : "fio", String(format: "%.0f", p.engineIOPS), String(format: "%.0f", p.fioIOPS),
                         String(format: "%.3f", p.ratio), TextFormat.duration(p.engineP50Ns), p.fioLatP50Ns.map { TextFormat.duration(UInt64($0)) } ?? "-",
                         TextFormat.duration(p.engineP99Ns), p.fioLatP99Ns.map { TextFormat.duration(UInt64($0)) } ?? "-",
                         String(format: "%.1f", p.driverInFlight), String(format: "%.1f", p.cycles.reduce(0) { $0 + $1.meanInFlight })])
        }
        var text = "engine against fio, \(pairs.count) interleaved pair\(pairs.count == 1 ? "" : "s"): \(vqs) vq\(vqs == 1 ? "" : "s"), layout \(layoutSpec), "
            + "\(rw) bs \(TextFormat.bytes(UInt64(blockSize))) qd \(depth) per vq, \(String(format: "%.0f", seconds)) s each, backend \(backend.rawValue)"
            + "\(target.map { " on \($0)" } ?? "")\(pollCompletions ? ", drivers poll for completions" : "")"
            + "\(submitBatch > 0 ? ", at most \(submitBatch) requests per submission" : "")\n"
        text += TextFormat.table(rows, rightAligned: Set([0]).union(2..<11))
        if let median {
            text += String(format: "median vqtrace/fio %.3f (range %.3f–%.3f)", median, ratios.first!, ratios.last!)
            if let medianAdded { text += ", median latency p50 added over fio's " + (medianAdded >= 0 ? TextFormat.duration(UInt64(medianAdded)) : "-" + TextFormat.duration(UInt64(-medianAdded))) }
            text += "\n"
        }
        text += "first: which of the two ran first in the pair (they alternate, as the host drifts).\n"
        text += "lat: vqtrace's from the kick to the driver's reap, fio's from before its submission call to its reap (fio's lat_ns, not clat_ns, which starts after the call).\n"
        text += "driver depth: requests the vCPU drivers had in flight (time-weighted mean); at backend: what the IOThreads' io_uring held.\n"
        let failures = pairs.flatMap(\.failures)
        text += failures.map { "FAILED: \($0)\n" }.joined()
        let document = Document(
            layout: layoutSpec, backend: backend.rawValue, target: target, rw: rw.rawValue, bs: blockSize, qd: depth, vqs: vqs, seconds: seconds,
            poll_completions: pollCompletions, submit_batch: submitBatch,
            pairs: pairs.map { p in
                Row(first: p.engineFirst ? "vqtrace" : "fio", vqtrace_iops: p.engineIOPS, fio_iops: p.fioIOPS, ratio: p.ratio,
                    vqtrace_lat_ns_p50: p.engineP50Ns, vqtrace_lat_ns_p99: p.engineP99Ns, fio_clat_ns_p50: p.fioP50Ns, fio_clat_ns_p99: p.fioP99Ns,
                    fio_lat_ns_p50: p.fioLatP50Ns, fio_lat_ns_p99: p.fioLatP99Ns,
                    driver_mean_in_flight: p.driverInFlight, iothreads: p.cycles)
            },
            median_ratio: median, ratio_range: ratios.isEmpty ? [] : [ratios.first!, ratios.last!], median_p50_added_ns: medianAdded)
        return BenchmarkReport(text: text, json: try TextFormat.json(document), failed: !failures.isEmpty)
    }
}
