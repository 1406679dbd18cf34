import Foundation
import Trace
import Units

/// Compares two traces of the same device shape in one streaming pass over each.
public enum TraceComparison {
    /// Reads A and B side by side (each in its own order, the one behind in its share of
    /// records first, so that matching requests meet while both are in memory), profiles both
    /// and aligns every vq's streams. Memory stays bounded by how far B strays from A (see
    /// `QueueAlignment`), not by the traces' lengths.
    public static func compare(_ a: TraceReader, _ b: TraceReader, window: UInt64 = 1 << 20, force: Bool = false) throws -> Comparison {
        try compareWithProfiles(a, b, window: window, force: force).comparison
    }

    /// How the devices of A and B differ (count, capacity, vqs), in words; nil when they match.
    public static func shapeDifference(_ da: [TraceMetadata.Device], _ db: [TraceMetadata.Device]) -> String? {
        if da.count != db.count { return "A has \(shape(da)) and B has \(shape(db))" }
        var parts: [String] = []
        for (x, y) in zip(da, db) {
            if x.numQueues != y.numQueues { parts.append("device \(x.name) has \(x.numQueues) vqs in A and \(y.numQueues) in B") }
            if x.capacitySectors != y.capacitySectors {
                parts.append("device \(x.name) holds \(TextFormat.bytes(x.capacitySectors * 512)) in A and \(TextFormat.bytes(y.capacitySectors * 512)) in B")
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// The comparison and the two profiles it was made from (the pictures draw them). Traces of
    /// different devices (capacity, vqs) are refused, naming the difference, unless `force`;
    /// then B's requests on vqs A lacks are left out and counted.
    public static func compareWithProfiles(_ a: TraceReader, _ b: TraceReader, window: UInt64 = 1 << 20, force: Bool = false) throws
        -> (comparison: Comparison, a: TraceProfile, b: TraceProfile) {
        let da = a.metadata.devices, db = b.metadata.devices
        let difference = shapeDifference(da, db)
        if let difference, !force {
            throw ComparisonError("A (\(a.path)) and B (\(b.path)) are traces of different devices: \(difference); "
                                  + "a replay's recording has its trace's devices. Pass --force to compare them anyway", usage: true)
        }
        var profileA = TraceProfile(of: a)
        var profileB = TraceProfile(of: b, bucketNs: profileA.bucketNs)
        // In profile order (`deviceBase[device] + vq`): no hashing per record.
        var alignments = profileA.queueList.map { _ in QueueAlignment(window: window) }
        var cursorA = a.cursor(skippingDamagedChunks: true)
        var cursorB = b.cursor(skippingDamagedChunks: true)
        let totalA = Double(max(a.totals.records, 1)), totalB = Double(max(b.totals.records, 1))
        var nextA = try cursorA.next(), nextB = try cursorB.next()
        var outsideA: UInt64 = 0
        while nextA != nil || nextB != nil {
            if let r = nextA, nextB == nil || Double(profileA.records) / totalA <= Double(profileB.records) / totalB {
                profileA.add(r)
                alignments[profileA.deviceBase[Int(r.device)] + Int(r.vq)].addA(r)
                nextA = try cursorA.next()
            } else if let r = nextB {
                profileB.add(r)
                if Int(r.device) < da.count && r.vq < da[Int(r.device)].numQueues {
                    alignments[profileA.deviceBase[Int(r.device)] + Int(r.vq)].addB(r)
                } else {
                    outsideA += 1
                }
                nextB = try cursorB.next()
            }
        }
        profileA.noteDamage(cursorA.damaged)
        profileB.noteDamage(cursorB.damaged)
        for i in alignments.indices { alignments[i].finish() }
        let byQueue = Dictionary(uniqueKeysWithValues: zip(profileA.queueList.map(\.key), alignments))
        var comparison = result(a: a.path, b: b.path, profileA, profileB, byQueue)
        (comparison.shapeDifference, comparison.outsideA) = (difference, outsideA)
        return (comparison, profileA, profileB)
    }

    static func shape(_ devices: [TraceMetadata.Device]) -> String {
        "\(devices.count) device\(devices.count == 1 ? "" : "s") (" + devices.map { "\($0.name): \($0.numQueues) vqs" }.joined(separator: ", ") + ")"
    }

    static func result(a: String, b: String, _ pa: TraceProfile, _ pb: TraceProfile, _ alignments: [QueueKey: QueueAlignment]) -> Comparison {
        let names = pa.metadata.devices.map(\.name)
        var streams: [Comparison.Stream] = []
        var total = QueueAlignmentTotals()
        for key in alignments.keys.sorted() {
            let alignment = alignments[key]!
            total.add(alignment)
            let qa = pa.queues[key] ?? TraceProfile.Queue(key: key), qb = pb.queues[key] ?? TraceProfile.Queue(key: key)
            let name = (Int(key.device) < names.count ? names[Int(key.device)] : "dev\(key.device)") + " vq\(key.vq)"
            streams.append(stream(name, qa.timeline, qb.timeline, side(qa.mix, qa.interArrival, qa.latency, qa.depth),
                                  side(qb.mix, qb.interArrival, qb.latency, qb.depth), qa.interArrival.ksDistance(to: qb.interArrival),
                                  qa.latency, qb.latency, total: alignment))
        }
        func mix(_ p: TraceProfile) -> [UInt64] { p.orderedQueues.reduce([0, 0, 0, 0]) { zip($0, $1.mix).map { $0 + $1 } } }
        let gapsA = pa.merged(\.interArrival), gapsB = pb.merged(\.interArrival)
        let latencyA = pa.merged(\.latency), latencyB = pb.merged(\.latency)
        var overall = stream("all", pa.timeline, pb.timeline, side(mix(pa), gapsA, latencyA, pa.merged(\.depth)),
                             side(mix(pb), gapsB, latencyB, pb.merged(\.depth)), gapsA.ksDistance(to: gapsB), latencyA, latencyB, total: nil)
        overall.sameRequests = streams.allSatisfy(\.sameRequests)
        overall.missing = total.missing
        overall.extra = total.extra
        overall.reorderedShare = total.matched > 0 ? Double(total.reordered) / Double(total.matched) : 0
        overall.meanDisplacement = total.matched > 0 ? Double(total.displacement) / Double(total.matched) : 0
        let drift = pa.spanNs > 0 ? Double(pb.spanNs) / Double(pa.spanNs) - 1 : 0
        return Comparison(a: a, b: b, bucketNs: pa.bucketNs, spanANs: pa.spanNs, spanBNs: pb.spanNs, drift: drift, overall: overall, queues: streams,
                          answer: Comparison.answer(overall: overall, queues: streams, drift: drift),
                          damagedA: pa.damaged.count, damagedB: pb.damaged.count)
    }

    static func side(_ mix: [UInt64], _ gaps: LogHistogram, _ latency: LogHistogram, _ depth: LogHistogram) -> Comparison.Side {
        let has = latency.total > 0
        return Comparison.Side(
            requests: mix.reduce(0, +), mix: ["read": mix[0], "write": mix[1], "flush": mix[2], "other": mix[3]],
            interArrivalP50Ns: gaps.percentile(50), interArrivalP99Ns: gaps.percentile(99),
            latencyP50Ns: has ? latency.percentile(50) : nil, latencyP99Ns: has ? latency.percentile(99) : nil,
            latencyP999Ns: has ? latency.percentile(99.9) : nil, depthMean: depth.mean, depthP99: depth.percentile(99))
    }

    static func stream(_ name: String, _ ta: [UInt64], _ tb: [UInt64], _ a: Comparison.Side, _ b: Comparison.Side, _ gapKS: Double,
                       _ la: LogHistogram, _ lb: LogHistogram, total alignment: QueueAlignment?) -> Comparison.Stream {
        let both = la.total > 0 && lb.total > 0
        func ratio(_ x: UInt64?, _ y: UInt64?) -> Double? { both ? x.flatMap { x in y.map { Double($0) / Double(max(x, 1)) } } : nil }
        let (error, correlation) = load(ta, tb)
        return Comparison.Stream(
            name: name, a: a, b: b, sameRequests: alignment?.sameRequests ?? true, missing: alignment?.missingCount ?? 0,
            extra: alignment?.extraCount ?? 0, missingExamples: alignment?.missing.map { "\($0.key), A's request \($0.position) of the vq" } ?? [],
            extraExamples: alignment?.extra.map { "\($0.key), B's request \($0.position) of the vq" } ?? [],
            reorderedShare: alignment?.reorderedShare ?? 0, meanDisplacement: alignment?.meanDisplacement ?? 0, iopsError: error,
            iopsCorrelation: correlation, interArrivalKS: gapKS, latencyKS: both ? la.ksDistance(to: lb) : nil,
            latencyP50Ratio: ratio(a.latencyP50Ns, b.latencyP50Ns), latencyP99Ratio: ratio(a.latencyP99Ns, b.latencyP99Ns),
            latencyP999Ratio: ratio(a.latencyP999Ns, b.latencyP999Ns))
    }

    /// The mean absolute percentage error of B's buckets against A's (over A's non-empty
    /// buckets), and the Pearson correlation of the two series (0 when either is constant).
    static func load(_ a: [UInt64], _ b: [UInt64]) -> (error: Double, correlation: Double) {
        let n = max(a.count, b.count)
        guard n > 0 else { return (0, 1) }
        func value(_ s: [UInt64], _ i: Int) -> Double { i < s.count ? Double(s[i]) : 0 }
        var errorSum = 0.0, counted = 0
        var sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
        for i in 0..<n {
            let x = value(a, i), y = value(b, i)
            if x > 0 {
                errorSum += abs(y - x) / x
                counted += 1
            }
            sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y
        }
        let count = Double(n)
        let varianceA = saa - sa * sa / count, varianceB = sbb - sb * sb / count
        let correlation = varianceA > 0 && varianceB > 0 ? (sab - sa * sb / count) / (varianceA * varianceB).squareRoot() : (a == b ? 1 : 0)
        return (counted > 0 ? errorSum / Double(counted) : 0, correlation)
    }
}

/// The alignments of every vq added up.
struct QueueAlignmentTotals {
    var matched: UInt64 = 0, reordered: UInt64 = 0, displacement: UInt64 = 0, missing: UInt64 = 0, extra: UInt64 = 0
    mutating func add(_ q: QueueAlignment) {
        matched += q.matched
        reordered += q.reordered
        displacement += q.displacementSum
        missing += q.missingCount
        extra += q.extraCount
    }
}
