/// What a report's runs support, decided by statistics before any sentence is written.
public enum ReportOutcome: String, Sendable, CaseIterable {
    /// A layout measured more IOPS than the baseline beyond the noise (Welch, 95%), or the
    /// baseline beat every other layout beyond the noise.
    case winner
    /// Every other layout's difference from the baseline has a 95% interval inside the
    /// equivalence margin: keeping the baseline is a measured answer.
    case equivalent
    /// Neither: too few runs, too much spread, or a host too small for the layouts compared.
    case inconclusive
    /// The sweep's plan has configurations with fewer runs than planned.
    case incomplete
}
