import Foundation

/// Human-readable numbers for CLI output.
enum Format {
    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : (value == value.rounded() ? String(format: "%.0f %@", value, units[unit]) : String(format: "%.1f %@", value, units[unit]))
    }

    /// An object as JSON text with sorted keys (stable, so outputs and stored rows diff cleanly);
    /// pretty-printed for people, compact for catalog columns.
    static func json(_ object: Any, pretty: Bool = true) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]), as: UTF8.self)
    }

    /// Rows as aligned columns (the first row is the heading), two spaces apart.
    static func table(_ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for row in rows {
            let cells = row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }
            var line = cells.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    static func duration(_ ns: UInt64) -> String {
        let value = Double(ns)
        if ns < 1_000 { return "\(ns) ns" }
        if ns < 1_000_000 { return String(format: "%.1f µs", value / 1e3) }
        if ns < 1_000_000_000 { return String(format: "%.1f ms", value / 1e6) }
        if ns < 120_000_000_000 { return String(format: "%.2f s", value / 1e9) }
        return String(format: "%.1f min", value / 6e10)
    }
}

/// A progress line on a TTY (stderr), silent otherwise so that pipes and CI logs stay clean.
final class Progress: @unchecked Sendable {
    let total: Int
    let label: String
    let enabled = isatty(2) != 0

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let fraction = Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        FileHandle.standardError.write(Data("\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(Int(fraction * 100))%".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
