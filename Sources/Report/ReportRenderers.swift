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

    var baselineResult: LayoutResult { results.first { $0.spec == input.baseline } ?? results[0] }

    /// The baseline a configuration is compared with: the baseline layout at its VM count.
    func baseline(for r: LayoutResult) -> LayoutResult {
        results.first { $0.spec == input.baseline + ReportModel.group(of: r.spec) } ?? baselineResult
    }

    /// The cell for one metric of one layout: mean ± 95% interval, and the change against the
    /// baseline in the seed's style, marked when it is inside the noise.
    func cells(_ metric: MetricColumn, _ r: LayoutResult) -> (value: String, change: String) {
        let s = metric.summary(r)
        let value = metric.format(s.mean) + (s.n > 1 ? " ± " + metric.format(s.ci95) : "")
        let baseResult = baseline(for: r)
        guard r.spec != baseResult.spec else { return (value, "baseline") }
        let base = metric.summary(baseResult)
        guard base.mean > 0 else { return (value, "–") }
        let change = ReportModel.percent(s.mean / base.mean - 1)
        return (value, s.differs(from: base) ? change : change + " (noise)")
    }

    /// The report as one self-contained HTML page.
    public func html() -> String {
        let e = SVGCharts.escape
        var h = "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>\(e(input.title))</title>\n"
        h += "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        h += "th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}"
        h += "pre{background:#f5f5f5;padding:0.8em;overflow-x:auto}.answer{font-size:1.25em;font-weight:600}.noise{color:#888}.warn{color:#b00}"
        h += "@media print{.chart{page-break-inside:avoid}}</style></head><body>\n"
        h += "<h1>\(e(input.title))</h1>\n<p class='answer' id='answer'>\(e(answer).replacingOccurrences(of: "`", with: ""))</p>\n"
        h += "<p>\(results.count) layouts, \(results.map(\.runs.count).min() ?? 0) run(s) each, timing \(e(input.timing)), backend \(e(input.backend)) on \(e(input.target)). Values are means ± the 95% interval; changes are against <b>\(e(baselineResult.spec))</b>; a change marked (noise) is inside it.</p>\n"
        for w in warnings { h += "<p class='warn'>\(e(w))</p>\n" }
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
                            errors: results.map(\.iothreadCPU.ci95), unit: "%") + "\n"
        h += SVGCharts.lines(
            title: "IOPS over time (first run of each layout, 100 ms buckets)",
            series: results.map { r in (r.spec, r.runs[0].timeline.enumerated().map { (x: Double($0.offset) / 10, y: Double($0.element) * 10) }) },
            xLabel: "seconds", yLabel: "IOPS", logX: false, xFormat: { String(format: "%.1f", $0) }, yFormat: SVGCharts.compact) + "\n"
        h += "<h2>Recommended layout: \(e(recommendation.spec))</h2>\n<p>\(e(recommendation.spec)) is \(e(recommendation.reason)). \(e(recommendation.pinning))</p>\n"
        h += "<h3>QEMU</h3>\n<pre id='qemu'>\(e(recommendation.qemu))</pre>\n<h3>libvirt</h3>\n<pre id='libvirt'>\(e(recommendation.libvirt))</pre>\n"
        h += "<h2>Caveats</h2>\n<ul>" + caveats.map { "<li>\(e($0))</li>" }.joined() + "</ul>\n"
        h += "<h2>Trace</h2>\n<table>" + input.traceSummary.map { "<tr><td>\(e($0.0))</td><td>\(e($0.1))</td></tr>" }.joined() + "</table>\n"
        h += "<h2>Host</h2>\n<table>" + input.host.map { "<tr><td>\(e($0.0))</td><td>\(e($0.1))</td></tr>" }.joined() + "</table>\n"
        h += "<h2>Runs</h2>\n<table><tr><th>run</th><th>layout</th><th>IOPS</th><th>latency p99</th></tr>"
        h += input.runs.map { "<tr><td>\($0.id)</td><td>\(e($0.layoutSpec))</td><td>\(String(format: "%.0f", $0.iops))</td><td>\(SVGCharts.duration($0.p99Ns))</td></tr>" }.joined()
        h += "</table>\n<p>Made by vqtrace.</p>\n</body></html>\n"
        return h
    }

    /// The same tables and recommendation as Markdown.
    public func markdown() -> String {
        var m = "# \(input.title)\n\n**\(answer)**\n\n"
        m += "\(results.count) layouts, \(results.map(\.runs.count).min() ?? 0) run(s) each, timing \(input.timing), backend \(input.backend) on \(input.target). Values are means ± the 95% interval; changes are against `\(baselineResult.spec)`; a change marked (noise) is inside it.\n\n"
        for w in warnings { m += "> \(w)\n\n" }
        m += "| layout | " + metrics.map(\.title).joined(separator: " | ") + " |\n"
        m += "|---|" + metrics.map { _ in "---:" }.joined(separator: "|") + "|\n"
        for r in results {
            m += "| \(r.spec) | " + metrics.map { metric in
                let c = cells(metric, r)
                return c.change == "baseline" ? c.value : "\(c.value) (\(c.change))"
            }.joined(separator: " | ") + " |\n"
        }
        m += "\n## Recommended layout: \(recommendation.spec)\n\n\(recommendation.spec) is \(recommendation.reason). \(recommendation.pinning)\n\n"
        m += "QEMU:\n\n```\n\(recommendation.qemu)```\n\nlibvirt:\n\n```xml\n\(recommendation.libvirt)```\n\n## Caveats\n\n"
        m += caveats.map { "- \($0)" }.joined(separator: "\n") + "\n\n## Trace\n\n"
        m += input.traceSummary.map { "- \($0.0): \($0.1)" }.joined(separator: "\n") + "\n\n## Host\n\n"
        m += input.host.map { "- \($0.0): \($0.1)" }.joined(separator: "\n") + "\n"
        return m
    }
}
