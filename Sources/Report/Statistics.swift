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

    /// Two-sided 95% quantiles of Student's t.
    static func t95(degrees: Int) -> Double {
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]
        if degrees < 1 { return .infinity }
        if degrees <= table.count { return table[degrees - 1] }
        return degrees <= 30 ? 2.05 : 1.96
    }

    /// Whether `self` and `other` differ at 95% (Welch's t); false when either has one run.
    public func differs(from other: Summary) -> Bool {
        guard n > 1, other.n > 1 else { return false }
        let va = standardDeviation * standardDeviation / Double(n)
        let vb = other.standardDeviation * other.standardDeviation / Double(other.n)
        let se = (va + vb).squareRoot()
        guard se > 0 else { return mean != other.mean }
        let t = abs(mean - other.mean) / se
        // Welch–Satterthwaite degrees of freedom.
        let df = (va + vb) * (va + vb) / (va * va / Double(n - 1) + vb * vb / Double(other.n - 1))
        return t > Self.t95(degrees: max(1, Int(df.rounded(.down))))
    }
}
