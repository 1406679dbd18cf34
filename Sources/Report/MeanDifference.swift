/// The difference of two layouts' mean IOPS with its 95% interval (Welch: the two layouts'
/// variances are not assumed equal).
public struct MeanDifference: Sendable, Equatable {
    /// `candidate.mean − baseline.mean`.
    public var difference: Double
    /// Half-width of the difference's 95% interval; nil when a side has one run (no spread known).
    public var halfWidth95: Double?

    public init(_ candidate: Summary, minus baseline: Summary) {
        difference = candidate.mean - baseline.mean
        guard candidate.n > 1, baseline.n > 1 else { halfWidth95 = nil; return }
        let va = candidate.variance / Double(candidate.n), vb = baseline.variance / Double(baseline.n)
        let se = (va + vb).squareRoot()
        // Identical runs on both sides: the interval is the point itself.
        guard se > 0 else { halfWidth95 = 0; return }
        halfWidth95 = StudentT.twoSided95(degrees: Self.welchDegrees(va, candidate.n, vb, baseline.n)) * se
    }

    /// Welch–Satterthwaite degrees of freedom from the two squared standard errors, rounded down
    /// (the t table's next smaller row: a wider interval, never a narrower one).
    static func welchDegrees(_ va: Double, _ na: Int, _ vb: Double, _ nb: Int) -> Int {
        let df = (va + vb) * (va + vb) / (va * va / Double(na - 1) + vb * vb / Double(nb - 1))
        return max(1, Int(df.rounded(.down)))
    }

    /// Whether the interval excludes zero: the difference is larger than the noise (95%).
    public var isSignificant: Bool {
        guard let halfWidth95 else { return false }
        return halfWidth95 == 0 ? difference != 0 : abs(difference) > halfWidth95
    }

    /// Whether the whole 95% interval lies within ±`margin` (an absolute IOPS figure): the
    /// layouts are equivalent for practical purposes, measured, not merely "not different".
    public func isWithin(_ margin: Double) -> Bool {
        guard let halfWidth95 else { return false }
        return abs(difference) + halfWidth95 <= margin
    }
}
