import Foundation
import Trace
import Units

/// How faithful B (a replay's recording, typically) is to A (the recording it replayed): per
/// vq and overall, the requests, their order, the offered load, the service, and the span.
public struct Comparison: Encodable, Sendable {
    /// One trace's side of a stream.
    public struct Side: Encodable, Sendable {
        public var requests: UInt64
        public var mix: [String: UInt64]
        public var interArrivalP50Ns: UInt64
        public var interArrivalP99Ns: UInt64
        /// nil without completion times.
        public var latencyP50Ns: UInt64?
        public var latencyP99Ns: UInt64?
        public var latencyP999Ns: UInt64?
        public var depthMean: Double
        public var depthP99: UInt64

        enum CodingKeys: String, CodingKey {
            case requests, mix, interArrivalP50Ns = "inter_arrival_p50_ns", interArrivalP99Ns = "inter_arrival_p99_ns"
            case latencyP50Ns = "latency_p50_ns", latencyP99Ns = "latency_p99_ns", latencyP999Ns = "latency_p99_9_ns"
            case depthMean = "in_flight_mean", depthP99 = "in_flight_p99"
        }
    }

    /// One vq (or all of them): A and B side by side and how they differ.
    public struct Stream: Encodable, Sendable {
        public var name: String
        public var a: Side
        public var b: Side
        /// The same multiset of (type, sector, length).
        public var sameRequests: Bool
        public var missing: UInt64
        public var extra: UInt64
        public var missingExamples: [String]
        public var extraExamples: [String]
        /// Share of matched requests B issued out of A's order (RFC 4737), and the mean distance
        /// between a request's positions in the two streams.
        public var reorderedShare: Double
        public var meanDisplacement: Double
        /// Mean absolute percentage error of B's submissions per bucket against A's, and the
        /// correlation of the two series.
        public var iopsError: Double
        public var iopsCorrelation: Double
        public var interArrivalKS: Double
        /// nil when either side has no completion times.
        public var latencyKS: Double?
        public var latencyP50Ratio: Double?
        public var latencyP99Ratio: Double?
        public var latencyP999Ratio: Double?

        enum CodingKeys: String, CodingKey {
            case name, a, b, missing, extra, sameRequests = "same_requests", missingExamples = "missing_examples", extraExamples = "extra_examples"
            case reorderedShare = "reordered_share", meanDisplacement = "mean_displacement", iopsError = "iops_error"
            case iopsCorrelation = "iops_correlation", interArrivalKS = "inter_arrival_ks", latencyKS = "latency_ks"
            case latencyP50Ratio = "latency_p50_ratio", latencyP99Ratio = "latency_p99_ratio", latencyP999Ratio = "latency_p99_9_ratio"
        }
    }

    public var a: String
    public var b: String
    public var bucketNs: UInt64
    public var spanANs: UInt64
    public var spanBNs: UInt64
    /// B's span against A's, as a fraction (+0.1 = 10% longer).
    public var drift: Double
    public var overall: Stream
    public var queues: [Stream]
    /// The first line: the figures, or the worst stream and what differs.
    public var answer: String
    /// Chunks either side skipped as damaged.
    public var damagedA: Int
    public var damagedB: Int
    /// How the two traces' devices differ, when they were compared anyway (`force`): nil when
    /// they have the same capacities and vqs.
    public var shapeDifference: String?
    /// B's requests on vqs A does not have, left out of every stream.
    public var outsideA: UInt64 = 0

    enum CodingKeys: String, CodingKey {
        case a, b, overall, queues, answer, drift, bucketNs = "bucket_ns", spanANs = "span_a_ns", spanBNs = "span_b_ns"
        case damagedA = "damaged_chunks_a", damagedB = "damaged_chunks_b", shapeDifference = "shape_difference", outsideA = "b_requests_outside_a"
    }

    static func percent(_ fraction: Double) -> String { String(format: "%.2f%%", fraction * 100) }
    static func signedPercent(_ fraction: Double) -> String { String(format: "%+.2f%%", fraction * 100) }

    /// The answer's words: every stream the same requests, or the worst one named.
    static func answer(overall: Stream, queues: [Stream], drift: Double) -> String {
        if let worst = queues.filter({ !$0.sameRequests }).max(by: { $0.missing + $0.extra < $1.missing + $1.extra }) {
            var parts: [String] = []
            if worst.missing > 0 { parts.append("is missing \(worst.missing) request\(worst.missing == 1 ? "" : "s") (first: \(worst.missingExamples.first ?? "?"))") }
            if worst.extra > 0 { parts.append("has \(worst.extra) request\(worst.extra == 1 ? "" : "s") A does not (first: \(worst.extraExamples.first ?? "?"))") }
            let others = queues.filter { !$0.sameRequests }.count - 1
            return "B does not hold A's requests: \(worst.name) " + parts.joined(separator: " and ")
                + (others > 0 ? "; \(others) other vq\(others == 1 ? "" : "s") differ too" : "")
                + ". Over all vqs: \(percent(overall.iopsError)) IOPS error, \(percent(overall.reorderedShare)) reordered, span \(signedPercent(drift))."
        }
        var text = "B reproduces A within \(percent(overall.iopsError)) IOPS error, \(percent(overall.reorderedShare)) reordered"
        if let ratio = overall.latencyP50Ratio {
            text += ", latency p50 \(signedPercent(ratio - 1))"
        } else {
            text += " (no latency: \(overall.a.latencyP50Ns == nil ? "A" : "B") has no completion times)"
        }
        text += ", span \(signedPercent(drift))"
        if let worst = queues.max(by: { $0.iopsError < $1.iopsError }), queues.count > 1, worst.iopsError > max(2 * overall.iopsError, 0.05) {
            text += "; the farthest vq is \(worst.name), \(percent(worst.iopsError)) IOPS error"
        }
        return text + "."
    }

    /// The comparison for a terminal: the answer, then a table of the streams.
    public var lines: [String] {
        var rows = [["stream", "A reqs", "B reqs", "missing", "extra", "reordered", "IOPS err", "corr", "gap KS", "lat p50 A", "lat p50 B", "lat KS"]]
        for s in [overall] + queues {
            rows.append([s.name, "\(s.a.requests)", "\(s.b.requests)", "\(s.missing)", "\(s.extra)", Self.percent(s.reorderedShare),
                         Self.percent(s.iopsError), String(format: "%.3f", s.iopsCorrelation), String(format: "%.3f", s.interArrivalKS),
                         s.a.latencyP50Ns.map { String(format: "%.1f µs", Double($0) / 1e3) } ?? "-",
                         s.b.latencyP50Ns.map { String(format: "%.1f µs", Double($0) / 1e3) } ?? "-",
                         s.latencyKS.map { String(format: "%.3f", $0) } ?? "-"])
        }
        var lines = [answer, "  A \(a): span \(String(format: "%.3f", Double(spanANs) / 1e9)) s; B \(b): span \(String(format: "%.3f", Double(spanBNs) / 1e9)) s (\(Self.signedPercent(drift)))"]
        if damagedA + damagedB > 0 { lines.append("  damaged chunks skipped: \(damagedA) in A, \(damagedB) in B") }
        if let shapeDifference {
            lines.append("  compared with --force although \(shapeDifference)" + (outsideA > 0 ? "; \(outsideA) of B's requests are on vqs A does not have and are left out" : ""))
        }
        lines += Self.table(rows).map { "  " + $0 }
        return lines
    }

    static func table(_ rows: [[String]]) -> [String] {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[c] - cell.count) + cell }.joined(separator: "  ")
        }
    }
}

/// Two traces that cannot be compared (different devices or vqs), or a file that cannot be read.
public struct ComparisonError: Error, CustomStringConvertible, Sendable, UsageMistake {
    public let description: String
    /// Two traces that do not compare (different devices) are the caller's to choose again.
    public let isUsageMistake: Bool
    public init(_ description: String, usage: Bool = false) {
        self.description = description
        isUsageMistake = usage
    }
}
