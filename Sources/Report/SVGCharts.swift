import Foundation

/// Inline SVG charts: no JavaScript, no external files, readable when printed.
public enum SVGCharts {
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The step between ticks over `span`: 1, 2 or 5 × 10^n, the smallest that needs at most
    /// `maxSteps` steps.
    static func niceStep(_ span: Double, maxSteps: Int = 5) -> Double {
        guard span > 0, span.isFinite else { return 1 }
        var magnitude = pow(10, floor(log10(span / Double(maxSteps))))
        while true {
            for mantissa in [1.0, 2, 5] where span / (mantissa * magnitude) <= Double(maxSteps) + 1e-9 { return mantissa * magnitude }
            magnitude *= 10
        }
    }

    /// The ticks of an axis from 0 that holds `value`: 0, step, 2·step, … up to the first tick at
    /// or above `value`, the step 1, 2 or 5 × 10^n.
    static func ticks(upTo value: Double) -> [Double] {
        let top = value > 0 && value.isFinite ? value : 1
        let step = niceStep(top)
        let count = Int((top / step - 1e-9).rounded(.up))
        return (0...max(count, 1)).map { Double($0) * step }
    }

    /// Ticks at multiples of a 1/2/5 × 10^n step inside `low...high`.
    static func ticks(from low: Double, to high: Double) -> [Double] {
        let step = niceStep(high - low)
        var tick = (low / step - 1e-9).rounded(.up) * step
        var out: [Double] = []
        while tick <= high + step * 1e-9 { out.append(tick); tick += step }
        return out
    }

    /// Ticks of a log axis: 1, 2 and 5 × 10^n inside `low...high` (only the powers of ten when
    /// the axis spans more than three decades).
    static func logTicks(from low: Double, to high: Double) -> [Double] {
        guard low > 0, high >= low else { return [] }
        let mantissas: [Double] = log10(high / low) > 3 ? [1] : [1, 2, 5]
        var out: [Double] = []
        var exponent = floor(log10(low))
        while exponent <= ceil(log10(high)) {
            for m in mantissas {
                let tick = m * pow(10.0, exponent)
                if tick >= low * (1 - 1e-9) && tick <= high * (1 + 1e-9) { out.append(tick) }
            }
            exponent += 1
        }
        return out
    }

    /// A "nice" upper bound for an axis: its last tick.
    static func niceMax(_ value: Double) -> Double { ticks(upTo: value).last ?? 1 }

    public static func compact(_ value: Double) -> String {
        if value >= 1e6 { return String(format: "%.1fM", value / 1e6) }
        if value >= 1e3 { return String(format: "%.0fk", value / 1e3) }
        return String(format: "%.0f", value)
    }

    public static func duration(_ ns: Double) -> String {
        if ns >= 1e9 { return String(format: "%.1f s", ns / 1e9) }
        if ns >= 1e6 { return String(format: "%.1f ms", ns / 1e6) }
        if ns >= 1e3 { return String(format: "%.0f µs", ns / 1e3) }
        return String(format: "%.0f ns", ns)
    }

    /// Bars with 95% error bars, one per layout.
    /// - Parameter unmeasured: bars whose value nobody measured (another back-end's IOThread CPU):
    ///   drawn as "not measured" at the baseline, not as a bar of 0.
    public static func bars(title: String, labels: [String], values: [Double], errors: [Double], unit: String, unmeasured: Set<Int> = []) -> String {
        let width = 640.0, height = 300.0, left = 70.0, bottom = 40.0, top = 30.0
        let plotH = height - bottom - top
        let yTicks = ticks(upTo: zip(values, errors).map { $0 + $1 }.max() ?? 1)
        let maxValue = yTicks.last ?? 1
        let slot = (width - left - 20) / Double(max(labels.count, 1))
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='\(Int(width))' height='\(Int(height))' viewBox='0 0 \(Int(width)) \(Int(height))' role='img' aria-label='\(escape(title))'>"
        svg += "<text x='\(left)' y='18' font-size='14' font-weight='bold'>\(escape(title))</text>"
        for v in yTicks {
            let y = top + plotH - plotH * v / maxValue
            svg += "<line x1='\(left)' x2='\(width - 10)' y1='\(y)' y2='\(y)' stroke='#ddd'/>"
            svg += "<text x='\(left - 6)' y='\(y + 4)' font-size='11' text-anchor='end'>\(compact(v))</text>"
        }
        for (i, label) in labels.enumerated() {
            let x = left + slot * Double(i) + slot * 0.2
            let w = slot * 0.6
            if unmeasured.contains(i) {
                svg += "<text x='\(x + w / 2)' y='\(top + plotH - 6)' font-size='11' font-style='italic' text-anchor='middle' fill='#666'>not measured</text>"
                svg += "<text x='\(x + w / 2)' y='\(height - bottom + 16)' font-size='12' text-anchor='middle'>\(escape(label))</text>"
                continue
            }
            let h = plotH * values[i] / maxValue
            let y = top + plotH - h
            svg += "<rect x='\(x)' y='\(y)' width='\(w)' height='\(h)' fill='\(palette[i % palette.count])'><title>\(escape(label)): \(compact(values[i])) \(unit)</title></rect>"
            if errors[i] > 0 {
                let cx = x + w / 2
                let y1 = top + plotH - plotH * (values[i] + errors[i]) / maxValue
                let y2 = top + plotH - plotH * max(0, values[i] - errors[i]) / maxValue
                svg += "<line class='errorbar' x1='\(cx)' x2='\(cx)' y1='\(y1)' y2='\(y2)' stroke='black'/>"
                svg += "<line x1='\(cx - 6)' x2='\(cx + 6)' y1='\(y1)' y2='\(y1)' stroke='black'/><line x1='\(cx - 6)' x2='\(cx + 6)' y1='\(y2)' y2='\(y2)' stroke='black'/>"
            }
            svg += "<text x='\(x + w / 2)' y='\(height - bottom + 16)' font-size='12' text-anchor='middle'>\(escape(label))</text>"
            svg += "<text x='\(x + w / 2)' y='\(y - 4)' font-size='11' text-anchor='middle'>\(compact(values[i]))</text>"
        }
        return svg + "</svg>"
    }

    /// Lines over a shared x axis (log scale when `logX`), with a legend.
    public static func lines(title: String, series: [(label: String, points: [(x: Double, y: Double)])], xLabel: String, yLabel: String,
                      logX: Bool, xFormat: (Double) -> String, yFormat: (Double) -> String, yMax: Double? = nil) -> String {
        let width = 640.0, height = 320.0, left = 70.0, bottom = 50.0, top = 30.0, right = 20.0
        let plotW = width - left - right, plotH = height - bottom - top
        let xs = series.flatMap { $0.points.map(\.x) }.filter { !logX || $0 > 0 }
        let minX = xs.min() ?? 1, maxX = max(xs.max() ?? 1, minX * 1.0001)
        let yTicks = ticks(upTo: yMax ?? (series.flatMap { $0.points.map(\.y) }.max() ?? 1))
        let topY = yTicks.last ?? 1
        let logSpan: Double = max(log10(maxX) - log10(minX), 1e-9)
        func px(_ x: Double) -> Double {
            if logX {
                let offset: Double = log10(max(x, minX)) - log10(minX)
                return left + plotW * offset / logSpan
            }
            return left + plotW * (x - minX) / (maxX - minX)
        }
        func py(_ y: Double) -> Double { top + plotH - plotH * min(y, topY) / topY }
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='\(Int(width))' height='\(Int(height))' viewBox='0 0 \(Int(width)) \(Int(height))' role='img' aria-label='\(escape(title))'>"
        svg += "<text x='\(left)' y='18' font-size='14' font-weight='bold'>\(escape(title))</text>"
        for v in yTicks {
            svg += "<line x1='\(left)' x2='\(width - right)' y1='\(py(v))' y2='\(py(v))' stroke='#ddd'/>"
            svg += "<text x='\(left - 6)' y='\(py(v) + 4)' font-size='11' text-anchor='end'>\(yFormat(v))</text>"
        }
        let xTicks = logX ? logTicks(from: minX, to: maxX) : ticks(from: minX, to: maxX)
        for x in xTicks {
            svg += "<line x1='\(px(x))' x2='\(px(x))' y1='\(top)' y2='\(top + plotH)' stroke='#eee'/>"
            svg += "<text x='\(px(x))' y='\(top + plotH + 16)' font-size='11' text-anchor='middle'>\(xFormat(x))</text>"
        }
        svg += "<text x='\(left + plotW / 2)' y='\(height - 8)' font-size='12' text-anchor='middle'>\(escape(xLabel))</text>"
        svg += "<text x='14' y='\(top + plotH / 2)' font-size='12' text-anchor='middle' transform='rotate(-90 14 \(top + plotH / 2))'>\(escape(yLabel))</text>"
        for (i, s) in series.enumerated() {
            let color = palette[i % palette.count]
            let points = s.points.filter { !logX || $0.x > 0 }.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            svg += "<polyline fill='none' stroke='\(color)' stroke-width='2' points='\(points)'><title>\(escape(s.label))</title></polyline>"
            svg += "<rect x='\(width - right - 120)' y='\(top + 4 + Double(i) * 16)' width='10' height='10' fill='\(color)'/>"
            svg += "<text x='\(width - right - 104)' y='\(top + 13 + Double(i) * 16)' font-size='11'>\(escape(s.label))</text>"
        }
        return svg + "</svg>"
    }
}
