import Foundation

/// Numbers as people read them in a terminal: binary units, short durations, aligned columns.
public enum TextFormat {
    /// 512 B, 4 KiB, 1.5 GiB.
    public static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(n) B" }
        return value == value.rounded() ? String(format: "%.0f %@", value, units[unit]) : String(format: "%.1f %@", value, units[unit])
    }

    /// 850 ns, 12.5 µs, 3.2 ms, 1.25 s, 2.0 min.
    public static func duration(_ ns: UInt64) -> String {
        let value = Double(ns)
        if ns < 1_000 { return "\(ns) ns" }
        if ns < 1_000_000 { return String(format: "%.1f µs", value / 1e3) }
        if ns < 1_000_000_000 { return String(format: "%.1f ms", value / 1e6) }
        if ns < 120_000_000_000 { return String(format: "%.2f s", value / 1e9) }
        return String(format: "%.1f min", value / 6e10)
    }

    /// Rows as aligned columns (the first row is the heading), two spaces apart.
    public static func table(_ rows: [[String]], rightAligned: Set<Int> = [], indent: String = "") -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for row in rows {
            let cells = row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }
            var line = indent + cells.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    /// A value as JSON text with sorted keys (stable, so outputs diff cleanly).
    public static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
