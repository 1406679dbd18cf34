import Foundation
import Layout

/// A layout the measuring host has too few CPUs for: its IOThreads alone take every CPU, leaving
/// none for the vCPU drivers and the replayer, so whatever it could gain cannot show here.
public struct HostLimitedLayout: Sendable, Equatable {
    public var layout: String
    public var iothreads: Int
}

/// The report's answer: the outcome the runs support, the sentence that says it (the report's
/// first), the layout to recommend when the runs measured one, and what to run next when not.
public struct ReportVerdict: Sendable {
    public var outcome: ReportOutcome
    /// The report's first sentence (and what `sweep` prints).
    public var answer: String
    /// The layout the runs support; nil unless the outcome is `winner` or `equivalent`.
    public var recommended: String?
    /// Why `recommended` is the one.
    public var reason: String?
    /// The layout that won (the baseline, when it beat every other beyond the noise); nil unless `winner`.
    public var winner: String?
    /// Planned configurations with fewer runs than planned.
    public var missing: [MissingRuns] = []
    /// Runs per layout that would separate the closest contender from the baseline.
    public var repeatsSuggested: RepeatEstimate?
    /// The `vqtrace sweep` command to run next, when the runs cannot answer yet.
    public var nextCommand: String?
    public var hostLimited: [HostLimitedLayout] = []

    init(outcome: ReportOutcome, answer: String) {
        self.outcome = outcome
        self.answer = answer
    }
}

/// What a verdict compares: IOPS, or latency p99 for open-loop runs, whose IOPS the trace's
/// schedule fixes (every layout that keeps the schedule offers the same load).
public enum ReportCriterion: String, Sendable {
    case iops
    case latencyP99 = "latency_p99"

    /// The criterion for runs of `timing`: latency p99 for open-loop timing, IOPS otherwise.
    public init(timing: String) { self = timing == "open" ? .latencyP99 : .iops }

    var name: String { self == .iops ? "IOPS" : "latency p99" }
    var higherIsBetter: Bool { self == .iops }
    func summary(_ r: LayoutResult) -> Summary { self == .iops ? r.iops : r.p99 }
    func format(_ value: Double) -> String { self == .iops ? ReportModel.number(value) : SVGCharts.duration(value) }
    /// `r` against `base` as a fraction of the baseline's mean (+0.2 = 20% more).
    func change(_ r: LayoutResult, _ base: LayoutResult) -> Double {
        let b = summary(base).mean
        return b > 0 ? summary(r).mean / b - 1 : 0
    }
    /// Whether `a` is better than `b` on the means.
    func better(_ a: LayoutResult, than b: LayoutResult) -> Bool {
        higherIsBetter ? summary(a).mean > summary(b).mean : summary(a).mean < summary(b).mean
    }
}

/// How one layout compares with the baseline on the criterion.
struct LayoutComparison {
    enum Kind { case better, equivalent, worse, unclear }
    var result: LayoutResult
    var difference: MeanDifference
    var kind: Kind
    var change: Double

    /// Better (a significant gain) is checked first, as a gain is what the user is looking for;
    /// then equivalence, so that a significant but tiny loss counts as "the same".
    init(_ result: LayoutResult, base: LayoutResult, margin: Double, criterion: ReportCriterion = .iops) {
        self.result = result
        let value = criterion.summary(result), baseValue = criterion.summary(base)
        difference = MeanDifference(value, minus: baseValue)
        change = criterion.change(result, base)
        let gain = criterion.higherIsBetter ? difference.difference > 0 : difference.difference < 0
        if difference.isSignificant && gain { kind = .better }
        else if difference.isWithin(margin * baseValue.mean) { kind = .equivalent }
        else if difference.isSignificant { kind = .worse }
        else { kind = .unclear }
    }
}

extension ReportVerdict {
    /// Decides the outcome for the first VM count's configurations (the others get their own
    /// tables, compared within their VM count) and words the answer.
    static func decide(results: [LayoutResult], input: ReportInput, margin: Double) -> ReportVerdict {
        // Runs that did not keep their schedule are finished runs: they are not missing, though
        // they are left out of `results`.
        let finished = Dictionary(input.runs.map { ($0.layoutSpec, 1) }, uniquingKeysWith: +)
        let criterion = input.criterion
        let name = criterion.name
        let value = criterion.format
        let missing = input.plan?.missing(finished: finished, present: results.map(\.spec)) ?? []
        let layouts = input.plan?.layouts ?? unique(results.map { baseSpec($0.spec) })
        let command = { (repeats: Int) in SweepCommandLine.make(input, layouts: layouts, repeats: repeats) }
        let limited = hostLimited(layouts.filter { $0 != input.baseline }, input: input)

        if !missing.isEmpty || input.runs.isEmpty {
            let list = missing.isEmpty ? "no run finished" : missing.map(\.description).joined(separator: "; ")
            var v = ReportVerdict(outcome: .incomplete, answer: "Incomplete: \(list); the sweep was interrupted or failed, so no layout is named or recommended. Run the whole sweep again to compare the layouts.")
            v.missing = missing
            v.nextCommand = command(input.plan?.repeats ?? RepeatEstimate.minimumRuns)
            v.hostLimited = limited
            return v
        }

        let excluded = input.runs.filter(\.scheduleMissed)
        let firstGroup = ReportModel.group(of: input.runs[0].layoutSpec)
        let baseLabel = input.baseline + firstGroup
        if !excluded.isEmpty && (!results.contains { $0.spec == baseLabel } || !results.contains { ReportModel.group(of: $0.spec) == firstGroup && $0.spec != baseLabel }) {
            let without = unique(input.runs.map(\.layoutSpec)).filter { label in !results.contains { $0.spec == label } }
            var v = ReportVerdict(outcome: .inconclusive, answer: "Inconclusive: the host could not keep the open-loop schedule in \(excluded.count) of \(input.runs.count) runs (\(excluded.map { "run \($0.id) \($0.layoutSpec)" }.joined(separator: ", "))); those runs measure the replayer, not the layout, and are left out of the verdict, which leaves \(list(without.map { "`\($0)`" })) without a run to compare. Replay on a quieter host, or slower (--speed 0.5), and sweep again.")
            v.nextCommand = command(input.plan?.repeats ?? RepeatEstimate.minimumRuns)
            v.hostLimited = limited
            return v
        }
        let group = ReportModel.group(of: results[0].spec)
        let base = results.first { $0.spec == input.baseline + group } ?? results[0]
        let others = results.filter { ReportModel.group(of: $0.spec) == group && $0.spec != base.spec }
        let cpus = "this host's \(input.onlineCPUs) CPU\(input.onlineCPUs == 1 ? "" : "s")"
        let limitedList = list(limited.map { "\($0.layout) (\($0.iothreads) IOThread\($0.iothreads == 1 ? "" : "s"))" })
        let biggerHost = (limited.map(\.iothreads).max() ?? 0) + 1

        guard !others.isEmpty else {
            var v = ReportVerdict(outcome: .inconclusive, answer: "Inconclusive: only `\(base.spec)` was measured (\(runs(base.iops.n)), \(value(criterion.summary(base).mean)) \(name)); there is no other layout to compare it with.")
            let suggested = unique([baseSpec(base.spec), "rr:2", "per-vq"])
            v.nextCommand = SweepCommandLine.make(input, layouts: suggested, repeats: max(RepeatEstimate.minimumRuns, base.iops.n), keepBackEnds: false)
            v.hostLimited = limited
            return v
        }

        let comparisons = others.map { LayoutComparison($0, base: base, margin: margin, criterion: criterion) }
        let over = criterion == .iops ? "over" : "against"
        let each = runsEach(results.filter { ReportModel.group(of: $0.spec) == group })

        // (a) A layout beat the baseline beyond the noise: the best of those wins. A small host
        // does not undo a measured gain, but it may hide a bigger one.
        if let best = comparisons.filter({ $0.kind == .better }).max(by: { criterion.better($1.result, than: $0.result) }) {
            var answer = "`\(best.result.spec)` wins: \(percent(best.change)) \(name) \(over) `\(base.spec)` (\(value(criterion.summary(best.result).mean)) against \(value(criterion.summary(base).mean)), \(each)), a difference larger than the noise."
            let hidden = limited.filter { $0.layout != baseSpec(best.result.spec) }
            if !hidden.isEmpty {
                let one = hidden.count == 1
                answer += " \(cpus.capitalizedFirst) were too few for \(list(hidden.map { "\($0.layout) (\($0.iothreads) IOThreads)" })): \(one ? "it" : "they") could not show \(one ? "its" : "their") gain here, so replay on the VM host before ruling \(one ? "it" : "them") out."
            }
            var v = ReportVerdict(outcome: .winner, answer: answer)
            v.recommended = best.result.spec
            v.winner = best.result.spec
            v.reason = "the measured winner"
            v.hostLimited = limited
            return v
        }

        let unclear = comparisons.filter { $0.kind == .unclear }
        let changes = comparisons.map { "\($0.result.spec) \(percent($0.change))" }.joined(separator: ", ")
        if unclear.isEmpty {
            // Nothing beat the baseline, and every difference is measured. On a host too small for
            // the layouts that is a fact about this host, not about the VM host.
            if !limited.isEmpty {
                var v = ReportVerdict(outcome: .inconclusive, answer: "Inconclusive on this host: no layout beat `\(base.spec)` (\(changes); \(each)), but \(cpus) are too few for the IOThreads of \(limitedList) beside the vCPU drivers and the replayer, so they could not show a gain here. Replay on the VM host, or one with at least \(biggerHost) CPUs, before keeping `\(base.spec)`.")
                v.hostLimited = limited
                v.nextCommand = command(max(RepeatEstimate.minimumRuns, base.iops.n))
                return v
            }
            let equivalent = comparisons.filter { $0.kind == .equivalent }
            let worse = comparisons.filter { $0.kind == .worse }
            if equivalent.isEmpty {
                var v = ReportVerdict(outcome: .winner, answer: "Keep `\(base.spec)`: every other layout measured \(criterion == .iops ? "fewer IOPS" : "a higher latency p99") beyond the noise (\(changes); \(each)).")
                v.recommended = base.spec
                v.winner = base.spec
                v.reason = "the measured winner: every other layout was slower beyond the noise"
                return v
            }
            var answer = "Keep `\(base.spec)`: \(list(equivalent.map { "`\($0.result.spec)`" })) \(equivalent.count == 1 ? "is" : "are") equivalent to it (\(equivalent.map { "\($0.result.spec) \(percent($0.change))" }.joined(separator: ", ")); \(equivalent.count == 1 ? "the difference's" : "every difference's") 95% interval lies within ±\(Int((margin * 100).rounded()))% of its \(value(criterion.summary(base).mean)) \(name), \(each))"
            if !worse.isEmpty {
                answer += " and \(list(worse.map { "`\($0.result.spec)`" })) \(worse.count == 1 ? "is" : "are") slower beyond the noise (\(worse.map { "\($0.result.spec) \(percent($0.change))" }.joined(separator: ", ")))"
            }
            var v = ReportVerdict(outcome: .equivalent, answer: answer + ".")
            v.recommended = base.spec
            v.reason = "the baseline: the other layouts were equivalent to it within ±\(Int((margin * 100).rounded()))% or slower, so more IOThreads buy nothing measurable here"
            return v
        }

        // (c) Inconclusive: the contender that might win is the unclear layout with the most IOPS.
        let contender = unclear.max { criterion.better($1.result, than: $0.result) }!
        let c = contender.result
        let change = percent(contender.change)
        let cv = criterion.summary(c), bv = criterion.summary(base)
        var v = ReportVerdict(outcome: .inconclusive, answer: "")
        v.hostLimited = limited
        var answer: String
        if let estimate = RepeatEstimate.estimate(cv, against: bv) {
            answer = "Inconclusive: `\(c.spec)` measured \(change) \(name) against `\(base.spec)` (\(value(cv.mean)) against \(value(bv.mean)), \(runsPair(c, base))), but the runs spread ±\(value(cv.ci95)) \(criterion == .iops ? "IOPS " : "")at 95% (`\(base.spec)` ±\(value(bv.ci95))), so the difference cannot be told from the noise."
            v.repeatsSuggested = estimate
            switch estimate {
            case .runs(let n):
                v.nextCommand = command(n)
                answer += " About \(n) runs per layout would separate them at this spread (95% confidence, 80% power): `\(v.nextCommand!)`."
            case .moreThan(let cap):
                answer += " More than \(cap) runs per layout would be needed at this spread: the difference, if there is one, is small against this machine's noise. Quiet the machine (no other load, a fixed CPU frequency) and sweep again."
            }
        } else {
            let n = max(RepeatEstimate.minimumRuns, max(c.iops.n, base.iops.n) + 1)
            v.repeatsSuggested = .runs(n)
            v.nextCommand = command(n)
            answer = "Inconclusive: `\(c.spec)` measured \(change) \(name) against `\(base.spec)` in \(runsPair(c, base)); one run has no spread to tell a difference from noise. Sweep with at least \(n) runs per layout: `\(v.nextCommand!)`."
        }
        if !limited.isEmpty {
            answer += " Besides, \(cpus) are too few for the IOThreads of \(limitedList), so this host may not show their gain at any count of runs: replay on the VM host, or one with at least \(biggerHost) CPUs."
        }
        v.answer = answer
        return v
    }

    /// The non-baseline layouts whose IOThreads take every CPU of the measuring host.
    static func hostLimited(_ specs: [String], input: ReportInput) -> [HostLimitedLayout] {
        guard input.onlineCPUs > 0 else { return [] }
        return unique(specs).compactMap { spec in
            // Every device's IOThreads, as the replay ran them (each device on its own).
            guard let layout = try? ReportModel.layout(spec, for: input.devices), layout.iothreads.count >= input.onlineCPUs else { return nil }
            return HostLimitedLayout(layout: spec, iothreads: layout.iothreads.count)
        }
    }

    static func baseSpec(_ label: String) -> String { SweepPlan.layout(ofLabel: label) }

    static func unique(_ items: [String]) -> [String] {
        var seen: Set<String> = []
        return items.filter { seen.insert($0).inserted }
    }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        items.count <= 2 ? items.joined(separator: " and ") : items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    static func runs(_ n: Int) -> String { n == 1 ? "one run" : "\(n) runs" }

    /// "3 runs each", or "2–3 runs per layout" when the counts differ.
    static func runsEach(_ results: [LayoutResult]) -> String {
        let counts = results.map(\.runs.count)
        let low = counts.min() ?? 0, high = counts.max() ?? 0
        if low == high { return low == 1 ? "one run each" : "\(low) runs each" }
        return "\(low)–\(high) runs per layout"
    }

    static func runsPair(_ a: LayoutResult, _ b: LayoutResult) -> String {
        a.runs.count == b.runs.count ? runsEach([a]) : "\(runs(a.runs.count)) of `\(a.spec)`, \(runs(b.runs.count)) of `\(b.spec)`"
    }

    static func number(_ value: Double) -> String { ReportModel.number(value) }
    static func percent(_ fraction: Double) -> String { ReportModel.percent(fraction) }
}

extension String {
    /// "this host's…" → "This host's…".
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
