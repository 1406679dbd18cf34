import Foundation

/// Mean and a 95% confidence interval over repeated runs (Student's t), and Welch's test of
/// whether two layouts differ by more than their noise.
public struct Summary: Sendable, Equatable {
    public var n: Int
    public var mean: Double
    public var standardDeviation: Double
    /// Half-width of the 95% confidence interval of the mean (0 with one run: unknown noise).
    public var ci95: Double

    public init(_ values: [Double]) {
        n = values.count
        let m = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
        mean = m
        if values.count > 1 {
            let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)
            standardDeviation = variance.squareRoot()
            ci95 = Self.t95(degrees: values.count - 1) * standardDeviation / Double(values.count).squareRoot()
        } else {
            standardDeviation = 0
            ci95 = 0
        }
    }

    /// The sample variance (n − 1 in the denominator); 0 with one run.
    public var variance: Double { standardDeviation * standardDeviation }

    /// Two-sided 95% quantiles of Student's t.
    static func t95(degrees: Int) -> Double { StudentT.twoSided95(degrees: degrees) }

    /// Whether `self` and `other` differ at 95% (Welch's t); false when either has one run.
    public func differs(from other: Summary) -> Bool {
        MeanDifference(self, minus: other).isSignificant
    }
}
