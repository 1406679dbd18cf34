import Foundation
import Layout
import Units

/// One layout's runs, summarized and compared with the baseline.
public struct LayoutResult: Sendable {
    public var spec: String
    public var runs: [ReportRun]
    public var iops: Summary
    public var bytesPerSecond: Summary
    public var p50: Summary
    public var p99: Summary
    public var p999: Summary
    /// Sum of the IOThreads' CPU % per run.
    public var iothreadCPU: Summary
    /// Mean IOPS change against the baseline, as a fraction (+0.2286 = +22.86%); nil for the baseline.
    public var change: Double?
    /// Whether the IOPS difference from the baseline is larger than the noise (Welch, 95%).
    public var significant: Bool
}

/// A comparison report's content, independent of its format: statistics per layout, the
/// verdict (outcome and answer), the recommendation when the runs support one, and caveats.
public struct ReportModel: Sendable {
    /// Two layouts are equivalent when the 95% interval of their IOPS difference lies within
    /// this fraction of the baseline's mean: ±5% is below what a VM owner would reconfigure for,
    /// and above the run-to-run drift of a quiet machine.
    public static let equivalenceMargin = 0.05

    public let input: ReportInput
    public let results: [LayoutResult]
    public let verdict: ReportVerdict
    /// The layout to use, only when the runs measured one (outcome winner or equivalent).
    public let recommendation: Recommendation?
    public let caveats: [String]
    public let warnings: [String]

    /// The report's first sentence.
    public var answer: String { verdict.answer }
    public var outcome: ReportOutcome { verdict.outcome }

    public init(_ input: ReportInput) throws {
        self.input = input
        var results: [LayoutResult] = []
        // A run whose open-loop schedule was not kept measured the replayer on a busy host, not
        // the layout: it is listed, and left out of the statistics and the verdict.
        for spec in input.layouts {
            let runs = input.runs.filter { $0.layoutSpec == spec && !$0.scheduleMissed }
            guard !runs.isEmpty else { continue }
            results.append(LayoutResult(
                spec: spec, runs: runs, iops: Summary(runs.map(\.iops)), bytesPerSecond: Summary(runs.map(\.bytesPerSecond)),
                p50: Summary(runs.map(\.p50Ns)), p99: Summary(runs.map(\.p99Ns)), p999: Summary(runs.map(\.p999Ns)),
                iothreadCPU: Summary(runs.map { $0.iothreadCPU.reduce(0) { $0 + $1.percent } }), change: nil, significant: false))
        }
        // Without a plan there is nothing to call incomplete: no runs is no report. With one, an
        // interrupted sweep that finished nothing still gets a report that says so.
        guard !input.runs.isEmpty || input.plan != nil else {
            throw ReportError(input.unfinishedRuns.isEmpty ? "no runs to report" : "no run finished: runs \(input.unfinishedRuns.map { String($0.id) }.joined(separator: ", ")) have no results")
        }
        // Each configuration is compared with the baseline layout at the same VM count; one on
        // another back-end, with the engine's run of the same layout.
        for i in results.indices {
            let base = Self.comparisonBase(for: results[i].spec, baseline: input.baseline)
            guard let b = results.firstIndex(where: { $0.spec == base }), b != i else { continue }
            results[i].change = results[b].iops.mean > 0 ? results[i].iops.mean / results[b].iops.mean - 1 : nil
            results[i].significant = results[i].iops.differs(from: results[b].iops)
        }
        self.results = results
        var verdict = ReportVerdict.decide(results: results, input: input, margin: Self.equivalenceMargin)
        if let backEnds = Self.backEndSentence(results, criterion: input.criterion) { verdict.answer += " " + backEnds }
        self.verdict = verdict
        if let spec = verdict.recommended, let winner = results.first(where: { $0.spec == spec }) {
            recommendation = try Self.recommend(winner, reason: verdict.reason ?? "", input: input)
        } else {
            recommendation = nil
        }

        var caveats: [String] = []
        if input.backend == "null" {
            caveats.append("These runs used the null backend: they measure vqtrace's engine, not the disk. Replay onto the real target before deciding. A recommended configuration gets cache.direct=on and aio=native, the advice for NVMe.")
        } else {
            let aio = Self.deploymentDisk(input).0.aio.rawValue
            caveats.append("\(Self.otherBackEnds(results).isEmpty ? "These runs" : "The engine's runs") opened the target with O_DIRECT (no host page cache) and submitted with \(input.backend): QEMU's cache.direct=on and aio=\(aio), libvirt's cache='none' io='\(aio)'. A recommended configuration carries exactly these; other cache or aio settings were not measured.")
        }
        do {
            caveats.append("Dense hosts gain less: in published HammerDB measurements of QEMU 9.0's iothread-vq-mapping (Oracle, 8 VMs on one host), separate IOThreads per vq changed throughput by only −1.16% to +3.08%, against +13.82% to +22.86% for one large VM. Replay with --vms to measure your own host's share.")
        }
        let others = Self.otherBackEnds(results)
        if !others.isEmpty {
            let meanings = others.map { label -> String in
                switch SweepPlan.backEnd(ofLabel: label) ?? "" {
                case "qsd": return "`\(label)`: qemu-storage-daemon, QEMU's own block layer (cache.direct=on, aio=io_uring, as the engine's io_uring backend)"
                case "serve": return "`\(label)`: vqtrace serve in the same process, the engine behind a real vhost-user session"
                default: return "`\(label)`: a vhost-user back-end vqtrace did not start, on its own disk"
                }
            }
            caveats.append("Some configurations ran on another back-end over vhost-user: \(meanings.joined(separator: "; ")). The difference from the engine's run of the same layout is how far vqtrace's engine is from that back-end on this host, not a layout's gain; layouts are compared on the engine, and a recommended configuration is for the layout. A back-end's IOThreads are its own: their CPU is not measured.")
        }
        if input.largeRequestShare > 0.3 {
            caveats.append("\(Int(input.largeRequestShare * 100))% of this trace's requests are 64 KiB or larger: large blocks gain less from more IOThreads, since the disk, not the IOThread, is the limit.")
        }
        if !verdict.hostLimited.isEmpty {
            let layouts = ReportVerdict.list(verdict.hostLimited.map { "\($0.layout) (\($0.iothreads) IOThread\($0.iothreads == 1 ? "" : "s"))" })
            caveats.append("This host has \(input.onlineCPUs) CPU\(input.onlineCPUs == 1 ? "" : "s"): \(layouts) take all of them, leaving none for the vCPU drivers and the replayer, so \(verdict.hostLimited.count == 1 ? "that layout cannot" : "those layouts cannot") show their gain here.")
        }
        self.caveats = caveats
        warnings = Self.warnings(results: results, input: input, verdict: verdict)
    }

    /// What the reader must know before trusting the numbers: missing and unfinished runs, too
    /// few runs, and the runs' own warnings (a schedule not kept).
    static func warnings(results: [LayoutResult], input: ReportInput, verdict: ReportVerdict) -> [String] {
        var warnings: [String] = []
        let sweep = input.plan?.sweepId.map { "Sweep \($0)" } ?? "The sweep"
        if !verdict.missing.isEmpty {
            warnings.append("\(sweep) is incomplete: \(verdict.missing.map(\.description).joined(separator: "; ")); the sweep was interrupted or failed. No layout is recommended until every planned run has finished.")
        }
        for run in input.unfinishedRuns {
            warnings.append("Run \(run.id) (\(run.configuration))\(run.startedAt.map { " started \($0) and" } ?? "") never finished: \(input.plan == nil ? "it is left out" : "it counts as missing").")
        }
        if let plan = input.plan, plan.layouts == nil {
            warnings.append("\(sweep)'s stored plan does not list its layouts (a demo sweep from before plans stored them): only the runs per layout were checked, not whether a layout is missing.")
        }
        let few = results.filter { $0.runs.count < RepeatEstimate.minimumRuns }
        let missed = input.runs.filter(\.scheduleMissed)
        if !missed.isEmpty {
            warnings.append("\(missed.count) of \(input.runs.count) runs did not keep the open-loop schedule (\(missed.map { "run \($0.id) \($0.layoutSpec)" }.joined(separator: ", "))): they measure the replayer on a busy host, not the layout, so they are left out of the tables, the charts and the verdict.")
        }
        if !few.isEmpty {
            warnings.append("Fewer than \(RepeatEstimate.minimumRuns) runs per layout (\(few.map { "\($0.spec): \($0.runs.count)" }.joined(separator: ", "))): with 2 runs the 95% interval is ±12.71 standard errors wide, with 3 ±4.30, and with one the noise is unknown. Sweep with --repeat \(RepeatEstimate.minimumRuns) or more.")
        }
        warnings += input.notes
        warnings += input.runs.compactMap { run in run.warning.map { "run \(run.id) (\(run.layoutSpec)): \($0)" } }
        return warnings
    }

    /// The labels of configurations on another back-end ("single via qsd").
    static func otherBackEnds(_ results: [LayoutResult]) -> [String] { results.map(\.spec).filter { SweepPlan.backEnd(ofLabel: $0) != nil } }

    /// What a configuration's layouts are compared within: its VM count (" ×8 VMs", empty for
    /// one VM) or its back-end (" via qsd"): layouts are compared on the same back-end only.
    static func group(of spec: String) -> String {
        if let via = spec.range(of: SweepPlan.backEndSeparator) { return String(spec[via.lowerBound...]) }
        return spec.range(of: " ×").map { String(spec[$0.lowerBound...]) } ?? ""
    }

    /// The label a configuration is compared with: the engine's run of the same layout for one on
    /// another back-end ("single via qsd" against "single"), else the baseline at its VM count.
    static func comparisonBase(for spec: String, baseline: String) -> String {
        SweepPlan.backEnd(ofLabel: spec) != nil ? SweepPlan.layout(ofLabel: spec) : baseline + group(of: spec)
    }

    /// The back-ends against the engine, for the answer: "Against the engine's own run of the
    /// same layout: `single via qsd` −40.00% IOPS, beyond the noise; …". Nil without back-ends.
    static func backEndSentence(_ results: [LayoutResult], criterion: ReportCriterion) -> String? {
        let parts = results.filter { SweepPlan.backEnd(ofLabel: $0.spec) != nil }.compactMap { r -> String? in
            guard let base = results.first(where: { $0.spec == SweepPlan.layout(ofLabel: r.spec) }) else { return nil }
            let c = LayoutComparison(r, base: base, margin: equivalenceMargin, criterion: criterion)
            let how: String
            switch c.kind {
            case .better: how = "ahead, beyond the noise"
            case .worse: how = "behind, beyond the noise"
            case .equivalent: how = "equivalent (within ±\(Int(equivalenceMargin * 100))%)"
            case .unclear: how = "not separable from the noise"
            }
            return "`\(r.spec)` \(percent(c.change)) \(criterion.name), \(how)"
        }
        guard !parts.isEmpty else { return nil }
        return "Against the engine's own run of the same layout: " + parts.joined(separator: "; ") + "."
    }


    static func number(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }

    /// The seed's style: +22.86%.
    public static func percent(_ fraction: Double) -> String {
        String(format: "%+.2f%%", fraction * 100)
    }
}

/// A report that cannot be built, and why; a usage mistake when the caller named something
/// that is not there (a sweep or run id) or asked for something impossible.
public struct ReportError: Error, CustomStringConvertible, UsageMistake {
    public let description: String
    public let isUsageMistake: Bool
    public init(_ description: String) {
        self.description = description
        isUsageMistake = false
    }

    init(_ description: String, usage: Bool) {
        self.description = description
        isUsageMistake = usage
    }

    /// The caller's mistake (the CLI exits 2).
    public static func usage(_ description: String) -> ReportError { ReportError(description, usage: true) }
}
