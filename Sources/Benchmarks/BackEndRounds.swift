import BlockBackend
import Engine
import Foundation
import Runs
import Units
import VhostUser

extension EngineBenchmark {
    /// One contender's run in a round: the engine, a vhost-user back-end, or fio.
    public struct ContenderRun: Sendable {
        public var iops: Double
        public var p50Ns: Double?
        public var p99Ns: Double?
        public var failures: [String]
    }

    /// What a back-end comparison runs: the pattern on each back-end (nil: the engine's own
    /// IOThreads), then optionally fio.
    public struct Contenders: Sendable {
        public var backEnds: [VhostUserBackEndChoice?]
        public var fio: Bool
        public init(backEnds: [VhostUserBackEndChoice?], fio: Bool) {
            self.backEnds = backEnds
            self.fio = fio
        }
        /// Column names: engine, serve, qsd, vhost-user SOCKET, fio.
        public var names: [String] { backEnds.map { $0?.label ?? "engine" } + (fio ? ["fio"] : []) }
    }

    /// `rounds` interleaved rounds of every contender on the same target and pattern; round r
    /// starts with contender r mod n, so that none always runs first on a drifting host. Stops
    /// early (returning the rounds done) when a run is interrupted.
    public func rounds(_ count: Int, contenders: Contenders, prepared: (TargetPreparation) -> Void = { _ in }) throws -> [[ContenderRun]] {
        precondition(count >= 1 && !contenders.names.isEmpty, "at least one round of one contender")
        let n = contenders.names.count
        try probe(contenders.backEnds)
        var rounds: [[ContenderRun]] = []
        for r in 0..<count {
            var round = [ContenderRun?](repeating: nil, count: n)
            for step in 0..<n {
                let c = (r + step) % n
                if c < contenders.backEnds.count {
                    var bench = self
                    bench.backEnd = contenders.backEnds[c]
                    let result = try bench.run().result
                    if result.interrupted || shouldStop?() == true { return rounds }
                    prepared(result.targetPreparation)
                    var latency = latencyHistogram()
                    for q in result.queues { latency.add(q.readLatency); latency.add(q.writeLatency) }
                    round[c] = ContenderRun(iops: Double(result.requests) / result.wallSeconds, p50Ns: Double(latency.valueAtPercentile(50)),
                                            p99Ns: Double(latency.valueAtPercentile(99)), failures: result.failures)
                } else {
                    let fio: FioPeer.Result
                    do { fio = try runFio() } catch FioPeer.FioError.interrupted { return rounds }
                    // fio's lat (submission included), as the back-ends' latency runs from the kick.
                    round[c] = ContenderRun(iops: fio.iops, p50Ns: fio.readLatP50Ns, p99Ns: fio.readLatP99Ns, failures: [])
                }
            }
            rounds.append(round.map { $0! })
        }
        return rounds
    }

    /// `rounds` rounds as a table: each contender's IOPS and clat per round, then per contender
    /// the median IOPS, p50 and p99, and the median of its per-round ratio to the first.
    public func backEndReport(rounds count: Int, contenders: Contenders) throws -> BenchmarkReport {
        var preparations: [String] = []
        let rounds = try rounds(count, contenders: contenders) { preparation in
            if !preparations.contains(preparation.summary) { preparations.append(preparation.summary) }
        }
        let names = contenders.names
        struct Figures: Encodable {
            var name: String, median_iops: Double?, median_lat_ns_p50: Double?, median_lat_ns_p99: Double?
            var median_ratio_to_first: Double?, ratio_range: [Double]
            var iops: [Double], lat_ns_p50: [Double?], lat_ns_p99: [Double?]
        }
        struct Document: Encodable {
            var component = "engine"; var comparison = "back-ends"
            var layout: String, target: String?, rw: String, bs: Int, qd: Int, vqs: Int, seconds: Double, rounds: Int
            var contenders: [Figures], failures: [String]
            /// Which contender went first in each round (the others followed in the list's order).
            var round_first: [String] = []
        }
        var figures: [Figures] = []
        for (c, name) in names.enumerated() {
            let runs = rounds.map { $0[c] }
            let ratios = rounds.compactMap { $0[0].iops > 0 ? $0[c].iops / $0[0].iops : nil }.sorted()
            figures.append(Figures(name: name, median_iops: Median.of(runs.map(\.iops)), median_lat_ns_p50: Median.of(runs.compactMap(\.p50Ns)),
                                   median_lat_ns_p99: Median.of(runs.compactMap(\.p99Ns)), median_ratio_to_first: Median.of(ratios),
                                   ratio_range: ratios.isEmpty ? [] : [ratios.first!, ratios.last!],
                                   iops: runs.map(\.iops), lat_ns_p50: runs.map(\.p50Ns), lat_ns_p99: runs.map(\.p99Ns)))
        }
        let duration = { (ns: Double?) in ns.map { TextFormat.duration(UInt64(max(0, $0))) } ?? "-" }
        var text = "\(names.joined(separator: " vs ")), \(rounds.count) interleaved round\(rounds.count == 1 ? "" : "s"): \(vqs) vq\(vqs == 1 ? "" : "s"), layout \(layoutSpec), "
            + "\(rw) bs \(TextFormat.bytes(UInt64(blockSize))) qd \(depth) per vq, \(String(format: "%.0f", seconds)) s each\(target.map { " on \($0)" } ?? "")\n"
        var perRound = [["round", "first"] + names.map { "\($0) IOPS" }]
        for (r, round) in rounds.enumerated() {
            perRound.append(["\(r + 1)", names[r % names.count]] + round.map { String(format: "%.0f", $0.iops) })
        }
        text += preparations.map { "  \($0)\n" }.joined()
        guard !rounds.isEmpty else {
            text += "interrupted before the first round ended: nothing measured\n"
            return BenchmarkReport(text: text, json: try TextFormat.json(Document(layout: layoutSpec, target: target, rw: rw.rawValue, bs: blockSize, qd: depth, vqs: vqs,
                                                                                  seconds: seconds, rounds: 0, contenders: [], failures: [])), failed: false)
        }
        text += TextFormat.table(perRound, rightAligned: Set([0]).union(2..<(2 + names.count)))
        var summary = [["", "median IOPS", "lat p50", "lat p99", "÷ \(names[0]) (median, range)"]]
        for f in figures {
            summary.append([f.name, f.median_iops.map { String(format: "%.0f", $0) } ?? "-", duration(f.median_lat_ns_p50), duration(f.median_lat_ns_p99),
                            f.median_ratio_to_first.map { String(format: "%.3f (%.3f–%.3f)", $0, f.ratio_range[0], f.ratio_range[1]) } ?? "-"])
        }
        text += TextFormat.table(summary, rightAligned: Set(1..<4))
        let meanings = ["engine": "vqtrace's own IOThreads in this process", "serve": "the same engine behind a vhost-user session in this process",
                        "qsd": "qemu-storage-daemon over vhost-user (cache.direct=on, aio=io_uring)", "fio": "fio's io_uring engine on the same file"]
        text += names.map { name in "\(name): " + (meanings[name] ?? "the back-end at \(name.dropFirst("vhost-user ".count)), on its own disk, not --target") }.joined(separator: "; ")
            + ". lat: from the kick to the completion as the vCPU driver sees it (fio: its read lat_ns, which like it includes the submission call; fio's clat_ns starts after the call).\n"
        let failures = rounds.flatMap { round in round.enumerated().flatMap { c, run in run.failures.map { "\(names[c]): \($0)" } } }
        text += failures.map { "FAILED: \($0)\n" }.joined()
        let document = Document(layout: layoutSpec, target: target, rw: rw.rawValue, bs: blockSize, qd: depth, vqs: vqs, seconds: seconds,
                                rounds: rounds.count, contenders: figures, failures: failures,
                                round_first: rounds.indices.map { names[$0 % names.count] })
        return BenchmarkReport(text: text, json: try TextFormat.json(document), failed: !failures.isEmpty)
    }
}
