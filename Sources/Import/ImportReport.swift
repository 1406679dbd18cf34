import Foundation

/// What an import did, for people and for programs: `vqtrace import` prints one or the other.
public struct ImportReport: Encodable, Sendable {
    public var result: TraceImporter.Result
    public var files: [String]
    public var out: String
    public var seconds: Double
    /// The catalog id the trace got, when it was catalogued.
    public var catalogId: Int64?

    public init(result: TraceImporter.Result, files: [String], out: String, seconds: Double, catalogId: Int64? = nil) {
        self.result = result
        self.files = files
        self.out = out
        self.seconds = seconds
        self.catalogId = catalogId
    }

    public var linesPerSecond: Double { Double(result.lines) / max(seconds, 1e-9) }

    enum CodingKeys: String, CodingKey {
        case format, files, out, requests, lines, devices, queues, seconds
        case skippedLines = "skipped_lines", vqMap = "vq_map", ignoredEvents = "ignored_events", pairedCompletions = "paired_completions"
        case unmatchedCompletions = "unmatched_completions", linesPerSecond = "lines_per_second", catalogId = "catalog_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(result.format.rawValue, forKey: .format)
        try c.encode(files, forKey: .files)
        try c.encode(out, forKey: .out)
        try c.encode(result.totals.records, forKey: .requests)
        try c.encode(result.lines, forKey: .lines)
        try c.encode(result.skippedLines, forKey: .skippedLines)
        try c.encode(result.deviceKeys, forKey: .devices)
        try c.encode(result.queues, forKey: .queues)
        try c.encode(result.vqMap.rawValue, forKey: .vqMap)
        try c.encode(result.ignoredEvents, forKey: .ignoredEvents)
        try c.encode(result.pairedCompletions, forKey: .pairedCompletions)
        try c.encode(result.unmatchedCompletions, forKey: .unmatchedCompletions)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(linesPerSecond, forKey: .linesPerSecond)
        try c.encodeIfPresent(catalogId, forKey: .catalogId)
    }

    /// The import for a terminal: requests and rate, devices and vqs, completions, what was skipped.
    public var lines: [String] {
        let r = result
        let rate = linesPerSecond >= 1e5 ? String(format: "%.2f M lines/s", linesPerSecond / 1e6) : String(format: "%.0f lines/s", linesPerSecond)
        var lines = ["imported \(files.count == 1 ? files[0] : "\(files.count) files") (\(r.format.rawValue)): \(r.totals.records) requests from \(r.lines) lines "
                     + "in \(String(format: "%.2f", seconds)) s (\(rate))"]
        let devices = r.deviceKeys.count
        lines.append("  \(devices) device\(devices == 1 ? "" : "s") (\(r.deviceKeys.prefix(4).joined(separator: "; "))\(devices > 4 ? "; …" : "")), "
                     + "\(r.queues) vq\(r.queues == 1 ? "" : "s") each by \(r.vqMap.rawValue)")
        if r.format.hasCompletionEvents {
            lines.append("  completions: \(r.pairedCompletions) paired, \(r.unmatchedCompletions) without their submission; \(r.ignoredEvents) other events ignored")
        }
        if r.skippedLines > 0 { lines.append("  \(r.skippedLines) bad line\(r.skippedLines == 1 ? "" : "s") skipped") }
        if r.queues == 1 {
            lines.append("  note: one vq per device, so every layout maps it to one IOThread and a layout sweep cannot tell them apart"
                         + (r.format.hasCPUAndPID ? "" : "; \(r.format.rawValue) lines carry no CPU: --queues N deals the requests round-robin over N vqs"))
        }
        return lines
    }
}
