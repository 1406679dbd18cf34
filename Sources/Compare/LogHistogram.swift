/// A distribution of non-negative integers (ns, depths) in fixed memory: 16 linear sub-buckets
/// per power of two, so any value is kept within 1/16 (6%) of itself. Two histograms of the same
/// shape compare bucket by bucket, which gives the Kolmogorov–Smirnov distance of the two
/// distributions without keeping their samples.
public struct LogHistogram: Sendable, Equatable {
    /// 64 powers of two × 16 sub-buckets.
    public private(set) var counts = [UInt64](repeating: 0, count: 64 * 16)
    public private(set) var total: UInt64 = 0
    public private(set) var sum: Double = 0

    public init() {}

    /// The bucket of `value`: values below 16 have a bucket each.
    static func bucket(_ value: UInt64) -> Int {
        guard value >= 16 else { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount  // ≥ 4
        let sub = Int((value >> UInt64(exponent - 4)) & 15)
        return (exponent - 3) * 16 + sub
    }

    /// The largest value bucket `b` holds.
    static func upperBound(_ b: Int) -> UInt64 {
        guard b >= 16 else { return UInt64(b) }
        let exponent = b / 16 + 3
        let sub = UInt64(b % 16)
        return ((16 + sub + 1) << UInt64(exponent - 4)) &- 1
    }

    @inline(__always)
    public mutating func add(_ value: UInt64) {
        counts[Self.bucket(value)] += 1
        total += 1
        sum += Double(value)
    }

    public var mean: Double { total > 0 ? sum / Double(total) : 0 }

    mutating func addCount(_ n: UInt64, atBucket b: Int) { counts[b] += n }
    mutating func addTotals(_ n: UInt64, _ s: Double) {
        total += n
        sum += s
    }

    /// The value at percentile `p` (0...100): the top of the bucket that holds it.
    public func percentile(_ p: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let target = max(1, UInt64((Double(total) * p / 100).rounded(.up)))
        var seen: UInt64 = 0
        for (b, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= target { return Self.upperBound(b) }
        }
        return Self.upperBound(counts.count - 1)
    }

    /// The Kolmogorov–Smirnov distance: the largest gap between the two cumulative
    /// distributions, 0 (the same) to 1 (disjoint), at this histogram's resolution.
    public func ksDistance(to other: LogHistogram) -> Double {
        guard total > 0, other.total > 0 else { return total == other.total ? 0 : 1 }
        var a: UInt64 = 0, b: UInt64 = 0
        var largest = 0.0
        for i in counts.indices {
            a += counts[i]
            b += other.counts[i]
            largest = max(largest, abs(Double(a) / Double(total) - Double(b) / Double(other.total)))
        }
        return largest
    }

    /// (value, share of samples at or below it) at every bucket that holds samples: a CDF to draw.
    public var cdf: [(value: Double, fraction: Double)] {
        guard total > 0 else { return [] }
        var seen: UInt64 = 0
        var points: [(value: Double, fraction: Double)] = []
        for (b, count) in counts.enumerated() where count > 0 {
            seen += count
            points.append((Double(Self.upperBound(b)), Double(seen) / Double(total)))
        }
        return points
    }
}
