/// Quantiles of Student's t distribution, from the printed table (checked against a numerical
/// library to three decimals). Between tabulated degrees of freedom the value at the next smaller
/// tabulated count is used: that quantile is the larger one, so intervals err on the wide side.
public enum StudentT {
    /// Degrees of freedom beyond 30 that the table lists; ∞ is the normal distribution.
    private static let coarseDegrees = [30, 40, 60, 120]

    /// Two-sided 95% (the 0.975 quantile) for 1…30 degrees of freedom.
    private static let q975: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
    private static let q975Coarse: [Double] = [2.042, 2.021, 2.000, 1.980]

    /// The 0.80 quantile (one-sided), for 80% power in a sample-size estimate, 1…30 degrees of freedom.
    private static let q80: [Double] = [1.376, 1.061, 0.978, 0.941, 0.920, 0.906, 0.896, 0.889, 0.883, 0.879,
                                        0.876, 0.873, 0.870, 0.868, 0.866, 0.865, 0.863, 0.862, 0.861, 0.860,
                                        0.859, 0.858, 0.858, 0.857, 0.856, 0.856, 0.855, 0.855, 0.854, 0.854]
    private static let q80Coarse: [Double] = [0.854, 0.851, 0.848, 0.845]

    /// The 0.975 quantile: half of a 95% interval is this many standard errors. Infinite below 1
    /// degree of freedom (one run: the noise is unknown).
    public static func twoSided95(degrees: Int) -> Double {
        lookup(degrees, q975, q975Coarse, normal: 1.960)
    }

    /// The 0.80 quantile: the extra standard errors a difference needs for an 80% chance that a
    /// repeat of the experiment finds it significant.
    public static func power80(degrees: Int) -> Double {
        lookup(degrees, q80, q80Coarse, normal: 0.842)
    }

    private static func lookup(_ degrees: Int, _ fine: [Double], _ coarse: [Double], normal: Double) -> Double {
        if degrees < 1 { return .infinity }
        if degrees <= fine.count { return fine[degrees - 1] }
        if degrees > coarseDegrees.last! { return normal }
        let index = coarseDegrees.lastIndex { $0 <= degrees }!
        return coarse[index]
    }
}
