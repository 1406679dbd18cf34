import Foundation
import Report
import Trace

/// Pictures where people would rather look, as a self-contained HTML page with inline SVG (no
/// JavaScript): a comparison's IOPS over time per vq (small multiples, A against B), its
/// latency CDFs, and an LBA-against-time heat map per device; or one trace's heat maps and
/// per-vq timelines (`vqtrace traces show --html`).
public enum ComparisonPage {
    /// Compares A and B and, with `html`, writes the page there (whole or not at all).
    /// An existing file at `html` that is not a vqtrace page is refused before the comparison,
    /// unless `force`.
    public static func compareAndWrite(_ a: TraceReader, _ b: TraceReader, html: String?, force: Bool = false) throws -> Comparison {
        if let html { try ReportFile.check(html, force: force) }
        let (comparison, pa, pb) = try TraceComparison.compareWithProfiles(a, b, force: force)
        if let html { try write(page(comparison, pa, pb), to: html, force: force) }
        return comparison
    }

    /// The page of `reader`'s trace at `html`: the name is checked before the trace is read.
    public static func writeTracePage(_ reader: TraceReader, to html: String, force: Bool) throws {
        try ReportFile.check(html, force: force)
        try write(try TraceProfile.read(reader), path: reader.path, to: html, force: force)
    }

    /// The page of one trace (its profile).
    public static func write(_ profile: TraceProfile, path: String, to html: String, force: Bool = false) throws {
        var body = "<h1>\(SVGCharts.escape((path as NSString).lastPathComponent))</h1>"
        body += "<p>\(profile.records) requests over \(String(format: "%.3f", Double(profile.spanNs) / 1e9)) s on \(profile.metadata.devices.count) device(s).</p>"
        body += "<h2>Where requests went</h2>" + heatMaps(profile)
        body += "<h2>Requests per \(Int(profile.bucketNs / 1_000_000)) ms, per vq</h2><div class='small'>"
        for q in profile.orderedQueues where q.requests > 0 { body += timeline(name(q.key, profile), [("requests", q.timeline)], profile.bucketNs) }
        try write(document(title: "trace \(path)", body: body + "</div>"), to: html, force: force)
    }

    static func page(_ c: Comparison, _ pa: TraceProfile, _ pb: TraceProfile) -> String {
        var body = "<h1>How faithful is B to A?</h1><p class='answer'>\(SVGCharts.escape(c.answer))</p>"
        body += "<p>A: \(SVGCharts.escape(c.a))<br>B: \(SVGCharts.escape(c.b))</p>"
        body += "<h2>Requests per \(Int(c.bucketNs / 1_000_000)) ms, per vq (A against B)</h2><div class='small'>"
        for q in pa.orderedQueues where q.requests > 0 || (pb.queues[q.key]?.requests ?? 0) > 0 {
            body += timeline(name(q.key, pa), [("A", q.timeline), ("B", pb.queues[q.key]?.timeline ?? [])], c.bucketNs)
        }
        body += "</div><h2>Latency</h2>"
        let la = pa.merged(\.latency), lb = pb.merged(\.latency)
        if la.total > 0 || lb.total > 0 {
            body += SVGCharts.lines(title: "latency CDF", series: [("A", la.cdf.map { ($0.value, $0.fraction) }), ("B", lb.cdf.map { ($0.value, $0.fraction) })],
                                    xLabel: "latency", yLabel: "share of requests", logX: true, xFormat: SVGCharts.duration,
                                    yFormat: { String(format: "%.0f%%", $0 * 100) }, yMax: 1)
        } else {
            body += "<p>No completion times in either trace.</p>"
        }
        body += "<h2>Where requests went: A</h2>" + heatMaps(pa) + "<h2>Where requests went: B</h2>" + heatMaps(pb)
        return document(title: "compare \(c.a) and \(c.b)", body: body)
    }

    static func name(_ key: QueueKey, _ profile: TraceProfile) -> String {
        let devices = profile.metadata.devices
        return (Int(key.device) < devices.count ? devices[Int(key.device)].name : "dev\(key.device)") + " vq\(key.vq)"
    }

    static func timeline(_ title: String, _ series: [(String, [UInt64])], _ bucketNs: UInt64) -> String {
        SVGCharts.lines(title: title, series: series.map { label, counts in
            (label, counts.enumerated().map { (Double($0.offset) * Double(bucketNs) / 1e9, Double($0.element) * 1e9 / Double(bucketNs)) })
        }, xLabel: "seconds", yLabel: "IOPS", logX: false, xFormat: { String(format: "%.1f", $0) }, yFormat: SVGCharts.compact)
    }

    /// One grid per device: time across, LBA down (0 at the top), darker where more requests went.
    static func heatMaps(_ profile: TraceProfile) -> String {
        let columns = TraceProfile.HeatMap.columns, rows = TraceProfile.HeatMap.rows
        let cell = 5.0, left = 50.0, top = 24.0
        var out = ""
        for (d, map) in profile.heatMaps.enumerated() {
            let peak = Double(map.cells.max() ?? 0)
            let width = left + Double(columns) * cell + 10, height = top + Double(rows) * cell + 24
            var svg = "<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='\(Int(width))' height='\(Int(height))' viewBox='0 0 \(Int(width)) \(Int(height))' role='img' aria-label='LBA heat map'>"
            svg += "<text x='\(left)' y='16' font-size='13' font-weight='bold'>\(SVGCharts.escape(profile.metadata.devices[d].name)): LBA (down) against time (across)</text>"
            for row in 0..<rows {
                for column in 0..<columns {
                    let n = Double(map.cells[row * columns + column])
                    guard n > 0, peak > 0 else { continue }
                    // Square root: a few busy cells do not wash out the rest.
                    let shade = (n / peak).squareRoot()
                    svg += "<rect x='\(left + Double(column) * cell)' y='\(top + Double(row) * cell)' width='\(cell)' height='\(cell)' fill='#1f77b4' fill-opacity='\(String(format: "%.2f", 0.1 + 0.9 * shade))'/>"
                }
            }
            svg += "<rect x='\(left)' y='\(top)' width='\(Double(columns) * cell)' height='\(Double(rows) * cell)' fill='none' stroke='#999'/>"
            svg += "<text x='\(left - 4)' y='\(top + 9)' font-size='10' text-anchor='end'>0</text>"
            svg += "<text x='\(left - 4)' y='\(top + Double(rows) * cell)' font-size='10' text-anchor='end'>end</text>"
            svg += "<text x='\(left)' y='\(height - 6)' font-size='10'>0 s</text>"
            svg += "<text x='\(left + Double(columns) * cell)' y='\(height - 6)' font-size='10' text-anchor='end'>\(String(format: "%.2f s", Double(profile.spanNs) / 1e9))</text>"
            out += svg + "</svg>"
        }
        return out
    }

    static func document(title: String, body: String) -> String {
        "<!doctype html><html><head><meta charset='utf-8'>\(ReportFile.htmlMark)<title>\(SVGCharts.escape(title))</title><style>"
            + "body{font-family:sans-serif;margin:2em;max-width:1400px}.answer{font-size:1.15em;font-weight:bold}"
            + ".small{display:flex;flex-wrap:wrap;gap:8px}.small svg{width:320px;height:auto}</style></head><body>"
            + body + "</body></html>\n"
    }

    /// Whole or not at all, never over a file that is not a vqtrace page unless `force` (`ReportFile`).
    static func write(_ text: String, to path: String, force: Bool) throws {
        try ReportFile.write(text, format: .html, to: path, force: force)
    }
}
