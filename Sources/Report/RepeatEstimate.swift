/// How many runs per layout a sweep needs to tell two layouts apart, if their means and spreads
/// stay as measured: the textbook sample size for a two-sided Welch test at 95% confidence with
/// 80% power, solved with Student's t instead of the normal distribution (so it holds for the
/// handful of runs a sweep makes):
///
///     n ≥ (t₀.₉₇₅(ν) + t₀.₈₀(ν))² · (s₁² + s₂²) / δ²,   ν = (s₁² + s₂²)² (n − 1) / (s₁⁴ + s₂⁴)
///
/// where δ is the observed difference of the means, s₁ and s₂ the two standard deviations, and ν
/// Welch–Satterthwaite's degrees of freedom for n runs on each side. ν grows with n, so the
/// answer is the smallest n that satisfies its own bound, found by counting up.
public enum RepeatEstimate: Sendable, Equatable {
    /// This many runs per layout.
    case runs(Int)
    /// More than this many (the `--repeat` limit): the difference is tiny against the noise.
    case moreThan(Int)

    /// The most runs per layout worth suggesting (and `sweep --repeat`'s limit).
    public static let cap = 100
    /// Fewer runs than this always earn a warning; no estimate suggests fewer.
    public static let minimumRuns = 3

    /// The estimate for `candidate` against `baseline`; at least one run more than either has
    /// and at least `minimumRuns`. Needs two runs on each side (a spread); nil otherwise.
    public static func estimate(_ candidate: Summary, against baseline: Summary) -> RepeatEstimate? {
        guard candidate.n > 1, baseline.n > 1 else { return nil }
        let floor = max(minimumRuns, max(candidate.n, baseline.n) + 1)
        let delta = abs(candidate.mean - baseline.mean)
        let v1 = candidate.variance, v2 = baseline.variance
        guard v1 + v2 > 0 else { return delta > 0 ? .runs(floor) : .moreThan(cap) }
        guard delta > 0 else { return .moreThan(cap) }
        for n in floor...cap {
            let nu = (v1 + v2) * (v1 + v2) * Double(n - 1) / (v1 * v1 + v2 * v2)
            let degrees = max(1, Int(nu.rounded(.down)))
            let t = StudentT.twoSided95(degrees: degrees) + StudentT.power80(degrees: degrees)
            if Double(n) >= t * t * (v1 + v2) / (delta * delta) { return .runs(n) }
        }
        return .moreThan(cap)
    }
}
