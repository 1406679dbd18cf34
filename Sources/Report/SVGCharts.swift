import Foundation

/// Inline SVG charts: no JavaScript, no external files, readable when printed.
public enum SVGCharts {
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A "nice" upper bound for an axis.
    static func niceMax(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2, 2.5, 5, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

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
    public static func bars(title: String, labels: [String], values: [Double], errors: [Double], unit: String) -> String {
        let width = 640.0, height = 300.0, left = 70.0, bottom = 40.0, top = 30.0
        let plotH = height - bottom - top
        let maxValue = niceMax(zip(values, errors).map { $0 + $1 }.max() ?? 1)
        let slot = (width - left - 20) / Double(max(labels.count, 1))
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='\(Int(width))' height='\(Int(height))' viewBox='0 0 \(Int(width)) \(Int(height))' role='img' aria-label='\(escape(title))'>"
        svg += "<text x='\(left)' y='18' font-size='14' font-weight='bold'>\(escape(title))</text>"
        for tick in 0...4 {
            let v = maxValue * Double(tick) / 4
            let y = top + plotH - plotH * Double(tick) / 4
            svg += "<line x1='\(left)' x2='\(width - 10)' y1='\(y)' y2='\(y)' stroke='#ddd'/>"
            svg += "<text x='\(left - 6)' y='\(y + 4)' font-size='11' text-anchor='end'>\(compact(v))</text>"
        }
        for (i, label) in labels.enumerated() {
            let x = left + slot * Double(i) + slot * 0.2
            let w = slot * 0.6
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
        let topY = yMax ?? niceMax(series.flatMap { $0.points.map(\.y) }.max() ?? 1)
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
        for tick in 0...4 {
            let v = topY * Double(tick) / 4
            svg += "<line x1='\(left)' x2='\(width - right)' y1='\(py(v))' y2='\(py(v))' stroke='#ddd'/>"
            svg += "<text x='\(left - 6)' y='\(py(v) + 4)' font-size='11' text-anchor='end'>\(yFormat(v))</text>"
        }
        var xTicks: [Double] = []
        if logX {
            var exponent = floor(log10(minX))
            while exponent <= ceil(log10(maxX)) {
                let tick = pow(10.0, exponent)
                if tick >= minX && tick <= maxX { xTicks.append(tick) }
                exponent += 1
            }
        } else {
            for i in 0...4 { xTicks.append(minX + (maxX - minX) * Double(i) / 4) }
        }
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
