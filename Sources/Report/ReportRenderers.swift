import Foundation

/// A metric table's column: how to read a value out of a layout's result, and whether more is better.
struct MetricColumn {
    var title: String
    var summary: (LayoutResult) -> Summary
    var format: (Double) -> String
    var higherIsBetter: Bool
}

extension ReportModel {
    var metrics: [MetricColumn] {
        [
            MetricColumn(title: "IOPS", summary: \.iops, format: { String(format: "%.0f", $0) }, higherIsBetter: true),
            MetricColumn(title: "MB/s", summary: \.bytesPerSecond, format: { String(format: "%.1f", $0 / 1e6) }, higherIsBetter: true),
            MetricColumn(title: "latency p50", summary: \.p50, format: SVGCharts.duration, higherIsBetter: false),
            MetricColumn(title: "latency p99", summary: \.p99, format: SVGCharts.duration, higherIsBetter: false),
            MetricColumn(title: "latency p99.9", summary: \.p999, format: SVGCharts.duration, higherIsBetter: false),
            MetricColumn(title: "IOThread CPU %", summary: \.iothreadCPU, format: { String(format: "%.0f", $0) }, higherIsBetter: false),
        ]
    }

    var baselineResult: LayoutResult? { results.first { $0.spec == input.baseline } ?? results.first }

    /// The baseline a configuration is compared with: the baseline layout at its VM count.
    func baseline(for r: LayoutResult) -> LayoutResult {
        results.first { $0.spec == ReportModel.comparisonBase(for: r.spec, baseline: input.baseline) } ?? baselineResult ?? r
    }

    /// Another back-end's IOThreads are its own: nothing of their CPU is known here.
    static func iothreadCPUUnmeasured(_ r: LayoutResult) -> Bool {
        r.runs.allSatisfy { $0.iothreadCPU.isEmpty } && SweepPlan.backEnd(ofLabel: r.spec) != nil
    }

    /// The cell for one metric of one layout: mean ± 95% interval, and the change against the
    /// baseline in the seed's style, marked when it is inside the noise.
    func cells(_ metric: MetricColumn, _ r: LayoutResult) -> (value: String, change: String) {
        let s = metric.summary(r)
        if metric.title == "IOThread CPU %" && Self.iothreadCPUUnmeasured(r) { return ("not measured", "–") }
        let value = metric.format(s.mean) + (s.n > 1 ? " ± " + metric.format(s.ci95) : "")
        let baseResult = baseline(for: r)
        guard r.spec != baseResult.spec else { return (value, "baseline") }
        let base = metric.summary(baseResult)
        guard base.mean > 0 else { return (value, "–") }
        let change = ReportModel.percent(s.mean / base.mean - 1)
        return (value, s.differs(from: base) ? change : change + " (noise)")
    }

    /// How the outcome is decided, in one sentence for the reader.
    var decisionRule: String {
        let margin = Int((ReportModel.equivalenceMargin * 100).rounded())
        let rule = input.criterion == .iops
            ? "A layout wins when its IOPS gain over the baseline is larger than the noise (Welch's t-test, 95%); layouts are equivalent when the 95% interval of the difference lies within ±\(margin)% of the baseline's mean IOPS"
            : "Criterion: latency p99. These runs are open loop, so the trace's schedule fixes the IOPS every layout offers and IOPS cannot tell layouts apart: a layout wins when its latency p99 is lower than the baseline's beyond the noise (Welch's t-test, 95%); layouts are equivalent when the 95% interval of the difference lies within ±\(margin)% of the baseline's mean latency p99"
        let kept = input.runs.contains(where: \.scheduleMissed) ? "; runs whose open-loop schedule was not kept are left out" : ""
        return rule + "; anything else is inconclusive, and a sweep missing planned runs is incomplete" + kept + "."
    }

    /// "backend io_uring on /tmp/disk.img", or "the null backend (no disk)".
    var backendPhrase: String {
        input.backend == "null" || input.target.isEmpty || input.target == "null" ? "the null backend (no disk)" : "backend \(input.backend) on \(input.target)"
    }

    /// What the rows on another back-end are compared with, when there are such rows.
    var viaBaselineNote: String {
        ReportModel.otherBackEnds(results).isEmpty ? "" : " (a row on another back-end, \"LAYOUT via …\", against the engine's run of LAYOUT)"
    }

    /// "3 layouts", or "2 configurations (layout and back-end)" when some ran on another back-end.
    var configurationCount: String {
        let n = results.count
        return ReportModel.otherBackEnds(results).isEmpty ? "\(n) layout\(n == 1 ? "" : "s")" : "\(n) configurations (layout on a back-end)"
    }

    /// "3 runs each", or each layout's count when they differ.
    var runCounts: String {
        let counts = results.map(\.runs.count)
        guard let first = counts.first else { return "no finished runs" }
        if counts.allSatisfy({ $0 == first }) { return first == 1 ? "one run each" : "\(first) runs each" }
        return "runs per layout: " + results.map { "\($0.spec) \($0.runs.count)" }.joined(separator: ", ")
    }

    /// Where the runs came from: a sweep checked against its plan, or runs picked by id.
    var planNote: String {
        guard let plan = input.plan else { return "These runs were picked by id, so there is no sweep plan to check them against." }
        let layouts = plan.layouts.map { "\($0.count) layout\($0.count == 1 ? "" : "s")" + (plan.backEnds.map { " × \($0.count) back-ends (\($0.joined(separator: ", ")))" } ?? "") } ?? "its layouts"
        return "\(plan.sweepId.map { "Sweep \($0)" } ?? "The sweep") planned \(layouts) × \(plan.repeats) runs\(plan.vmCounts == [1] ? "" : " at \(plan.vmCounts.map(String.init).joined(separator: ", ")) VMs")."
    }

    /// Why there is no recommendation, by outcome.
    var noRecommendation: String {
        switch outcome {
        case .incomplete: return "The sweep is missing planned runs, so the layouts were not all measured alike."
        case .inconclusive: return verdict.hostLimited.isEmpty || verdict.repeatsSuggested != nil
            ? "The runs cannot tell the layouts apart yet."
            : "This host is too small to show what the layouts with more IOThreads can do."
        case .winner, .equivalent: return ""
        }
    }

    var nextStepIntro: String {
        switch verdict.repeatsSuggested {
        case .runs(let n)?: return "To separate the layouts at the measured spread (about \(n) runs per layout, 95% confidence, 80% power):"
        case .moreThan(let cap)?: return "More than \(cap) runs per layout would be needed at the measured spread; after quieting the machine, sweep again:"
        case nil:
            if outcome == .incomplete { return "To finish the comparison, run the whole sweep again:" }
            if !verdict.hostLimited.isEmpty {
                return "On the VM host, or one with at least \((verdict.hostLimited.map(\.iothreads).max() ?? 0) + 1) CPUs, with the trace and a target there:"
            }
            return "To measure again:"
        }
    }

    /// The report as one self-contained HTML page.
    public func html() -> String {
        let e = SVGCharts.escape
        var h = "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>\(ReportFile.htmlMark)<title>\(e(input.title))</title>\n"
        h += "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        h += "th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}"
        h += "pre{background:#f5f5f5;padding:0.8em;overflow-x:auto}.answer{font-size:1.25em;font-weight:600}.noise{color:#888}.warn{color:#b00}"
        h += ".outcome b{text-transform:uppercase;padding:1px 6px;border-radius:3px;background:#eee}.outcome-inconclusive b,.outcome-incomplete b{background:#fde2b8}"
        h += ".outcome-winner b,.outcome-equivalent b{background:#cdebd0}@media print{.chart{page-break-inside:avoid}}</style></head><body>\n"
        h += "<h1>\(e(input.title))</h1>\n<p class='answer' id='answer' data-outcome='\(outcome.rawValue)'>\(e(answer).replacingOccurrences(of: "`", with: ""))</p>\n"
        h += "<p class='outcome outcome-\(outcome.rawValue)' id='outcome'>Outcome: <b>\(outcome.rawValue)</b>. \(e(decisionRule))</p>\n"
        if !verdict.missing.isEmpty {
            h += "<p class='warn'>Missing runs:</p>\n<ul class='warn' id='missing'>" + verdict.missing.map { "<li>\(e($0.description))</li>" }.joined() + "</ul>\n"
        }
        if let command = verdict.nextCommand {
            h += "<p>\(e(nextStepIntro))</p>\n<pre id='next'>\(e(command))</pre>\n"
        }
        let against = baselineResult.map { " changes are against <b>\(e($0.spec))</b>\(e(viaBaselineNote)); a change marked (noise) is inside it." } ?? ""
        h += "<p>\(e(configurationCount)), \(e(runCounts)), timing \(e(input.timing)), \(e(backendPhrase)). \(e(planNote)) Values are means ± the 95% interval;\(against)</p>\n"
        if let command = input.plan?.commandLine { h += "<p>The sweep was run as (run it again the same way):</p>\n<pre id='command'>\(e(command))</pre>\n" }
        for w in warnings { h += "<p class='warn'>\(e(w))</p>\n" }
        if !results.isEmpty {
            h += "<h2>Results</h2>\n"
            for metric in metrics {
                h += "<table class='metric' data-metric='\(e(metric.title))'><tr><th>layout</th><th>\(e(metric.title))</th><th>change</th></tr>\n"
                for r in results {
                    let c = cells(metric, r)
                    h += "<tr><td>\(e(r.spec))</td><td>\(e(c.value))</td><td class='\(c.change.hasSuffix("(noise)") ? "noise" : "")'>\(e(c.change))</td></tr>\n"
                }
                h += "</table>\n"
            }
            h += "<h2>Charts</h2>\n"
            h += SVGCharts.bars(title: "IOPS per layout (95% interval)", labels: results.map(\.spec), values: results.map(\.iops.mean),
                                errors: results.map(\.iops.ci95), unit: "IOPS") + "\n"
            h += SVGCharts.lines(
                title: "Latency CDF (first run of each layout)",
                series: results.map { r in (r.spec, r.runs[0].latencyCDF.map { (x: $0.ns, y: $0.fraction) }) },
                xLabel: "completion latency (log scale)", yLabel: "fraction of requests", logX: true,
                xFormat: SVGCharts.duration, yFormat: { String(format: "%.2f", $0) }, yMax: 1) + "\n"
            h += SVGCharts.bars(title: "IOThread CPU, % of one CPU (sum over IOThreads)", labels: results.map(\.spec), values: results.map(\.iothreadCPU.mean),
                                errors: results.map(\.iothreadCPU.ci95), unit: "%",
                                unmeasured: Set(results.indices.filter { Self.iothreadCPUUnmeasured(results[$0]) })) + "\n"
            h += SVGCharts.lines(
                title: "IOPS over time (first run of each layout, 100 ms buckets)",
                series: results.map { r in (r.spec, r.runs[0].timeline.enumerated().map { (x: Double($0.offset) / 10, y: Double($0.element) * 10) }) },
                xLabel: "seconds", yLabel: "IOPS", logX: false, xFormat: { String(format: "%.1f", $0) }, yFormat: SVGCharts.compact) + "\n"
        }
        if let recommendation {
            h += "<h2>Recommended layout: \(e(recommendation.spec))</h2>\n<p>\(e(recommendation.spec)) is \(e(recommendation.reason)). \(e(recommendation.pinning))</p>\n"
            h += "<p id='disk'>\(e(recommendation.diskNote))</p>\n"
            h += "<h3>QEMU</h3>\n<pre id='qemu'>\(e(recommendation.qemu))</pre>\n<h3>libvirt</h3>\n<pre id='libvirt'>\(e(recommendation.libvirt))</pre>\n"
        } else {
            h += "<h2>No recommendation</h2>\n<p id='no-recommendation'>\(e(noRecommendation)) Do not change the VM's configuration on these numbers.</p>\n"
        }
        h += "<h2>Caveats</h2>\n<ul>" + caveats.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n"
        h += "<h2>Trace</h2>\n<table>" + input.traceSummary.map { "<tr><td>\(e($0.0))</td><td>\(e($0.1))</td></tr>" }.joined() + "</table>\n"
        h += "<h2>Host that measured</h2>\n<table>" + input.host.map { "<tr><td>\(e($0.0))</td><td>\(e($0.1))</td></tr>" }.joined() + "</table>\n"
        let fidelity = input.runs.contains { $0.fidelity != nil }
        let schedule = input.runs.contains { $0.latenessP99Ns != nil }
        h += "<h2>Runs</h2>\n<table><tr><th>run</th><th>layout</th><th>IOPS</th><th>latency p99</th>" + (schedule ? "<th>schedule (lateness p99)</th>" : "")
            + (fidelity ? "<th>fidelity to the trace</th>" : "") + "</tr>"
        h += input.runs.map { run in
            "<tr\(run.scheduleMissed ? " class='warn'" : "")><td>\(run.id)</td><td>\(e(run.layoutSpec))</td><td>\(String(format: "%.0f", run.iops))</td><td>\(SVGCharts.duration(run.p99Ns))</td>"
                + (schedule ? "<td>\(Self.scheduleCell(run))</td>" : "")
                + (fidelity ? "<td title='\(e(run.fidelity?.answer ?? ""))'>\(e(run.fidelity?.figures ?? "–"))</td>" : "") + "</tr>"
        }.joined()
        h += input.unfinishedRuns.map { "<tr class='warn'><td>\($0.id)</td><td>\(e($0.configuration))</td><td>never finished</td><td>–</td>" + (schedule ? "<td>–</td>" : "") + (fidelity ? "<td>–</td>" : "") + "</tr>" }.joined()
        h += "</table>\n<p>Made by vqtrace.</p>\n</body></html>\n"
        return h
    }

    /// Whether a run kept its schedule, in words, with its lateness p99.
    static func scheduleCell(_ run: ReportRun) -> String {
        guard let p99 = run.latenessP99Ns else { return "–" }
        return (run.scheduleMissed ? "NOT KEPT" : "kept") + " (\(SVGCharts.duration(p99)))"
    }

    /// The same facts, tables and recommendation as Markdown.
    public func markdown() -> String {
        var m = "# \(input.title)\n\n**\(answer)**\n\n"
        m += "Outcome: **\(outcome.rawValue)**. \(decisionRule)\n\n"
        if !verdict.missing.isEmpty {
            m += "Missing runs:\n\n" + verdict.missing.map { "- \($0.description)" }.joined(separator: "\n") + "\n\n"
        }
        if let command = verdict.nextCommand {
            m += "\(nextStepIntro)\n\n```sh\n\(command)\n```\n\n"
        }
        let against = baselineResult.map { " changes are against `\($0.spec)`\(viaBaselineNote); a change marked (noise) is inside it." } ?? ""
        m += "\(configurationCount), \(runCounts), timing \(input.timing), \(backendPhrase). \(planNote) Values are means ± the 95% interval;\(against)\n\n"
        if let command = input.plan?.commandLine { m += "The sweep was run as (run it again the same way):\n\n```sh\n\(command)\n```\n\n" }
        for w in warnings { m += "> \(w)\n\n" }
        if !results.isEmpty {
            m += "| layout | " + metrics.map(\.title).joined(separator: " | ") + " |\n"
            m += "|---|" + metrics.map { _ in "---:" }.joined(separator: "|") + "|\n"
            for r in results {
                m += "| \(r.spec) | " + metrics.map { metric in
                    let c = cells(metric, r)
                    return c.change == "baseline" ? c.value : "\(c.value) (\(c.change))"
                }.joined(separator: " | ") + " |\n"
            }
        }
        if let recommendation {
            m += "\n## Recommended layout: \(recommendation.spec)\n\n\(recommendation.spec) is \(recommendation.reason). \(recommendation.pinning)\n\n"
            m += "\(recommendation.diskNote)\n\n"
            m += "QEMU:\n\n```\n\(recommendation.qemu)```\n\nlibvirt:\n\n```xml\n\(recommendation.libvirt)```\n\n"
        } else {
            m += "\n## No recommendation\n\n\(noRecommendation) Do not change the VM's configuration on these numbers.\n\n"
        }
        m += "## Caveats\n\n" + caveats.map { "- \($0)" }.joined(separator: "\n") + "\n\n## Trace\n\n"
        m += input.traceSummary.map { "- \($0.0): \($0.1)" }.joined(separator: "\n") + "\n\n## Host that measured\n\n"
        m += input.host.map { "- \($0.0): \($0.1)" }.joined(separator: "\n") + "\n"
        let missed = input.runs.filter(\.scheduleMissed)
        if !missed.isEmpty {
            m += "\n## Runs whose schedule was not kept\n\nTheir figures measure the replayer on a busy host, not the layout.\n\n"
            m += missed.map { "- run \($0.id) (\($0.layoutSpec)): \(Self.scheduleCell($0))" }.joined(separator: "\n") + "\n"
        }
        if input.runs.contains(where: { $0.fidelity != nil }) {
            m += "\n## Fidelity of each run to the trace\n\n| run | layout | fidelity |\n|---:|---|---|\n"
            m += input.runs.map { "| \($0.id) | \($0.layoutSpec) | \($0.fidelity?.figures ?? "–") |" }.joined(separator: "\n") + "\n"
        }
        return m
    }
}
