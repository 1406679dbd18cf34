import Foundation
import Trace
import Units

extension CatalogLocation {
    /// What a command's TRACE names: an existing file (and its catalog row, when the catalog
    /// exists and has this host's row for it), else a catalog id or name, read from this host's
    /// file or, for a pushed trace, from the catalog itself.
    public func resolve(_ reference: String, host: CatalogHost) throws -> ResolvedTrace {
        if FileManager.default.fileExists(atPath: reference) {
            let row = exists ? (try? openShared(host: host).find(reference)).flatMap { $0.host == host.name ? $0 : nil } : nil
            return ResolvedTrace(location: .file(reference), catalogued: row)
        }
        let store = try openShared(host: host)
        return try store.resolve(try store.find(reference))
    }
}

extension CatalogLocation {
    /// The metadata this catalog keeps for the trace file at `path` (what `traces repair`
    /// rebuilds a damaged header from), if the catalog exists and has a row for it.
    public func metadata(ofTrace path: String, host: CatalogHost) -> TraceMetadata? {
        guard exists else { return nil }
        return (try? openShared(host: host).find(path))?.metadata
    }
}

extension CatalogTrace {
    /// "catalogued as trace 3 (oltp) in CATALOG", and which trace it replaced, if it did.
    public func registration(in catalog: String) -> String {
        "catalogued as trace \(id) (\(name)) in \(catalog)"
            + (replacedTraceId.map { "; it replaces trace \($0), a different file at that path (the runs of trace \($0) keep their results)" } ?? "")
    }

    /// `traces list`: one row per trace.
    public static func table(_ traces: [CatalogTrace]) -> String {
        var rows = [["id", "name", "requests", "duration", "size", "B/req", "source", "state", "host"]]
        for t in traces {
            rows.append([
                "\(t.id)", t.name, "\(t.records)", TextFormat.duration(UInt64(max(0, t.lastSubmitNs - t.firstSubmitNs))),
                TextFormat.bytes(UInt64(max(0, t.fileSize))), t.records > 0 ? String(format: "%.2f", Double(t.fileSize) / Double(t.records)) : "-",
                "\(t.sourceKind):\(t.sourceName)", (t.complete ? "complete" : "recovered") + (t.isPushed ? ", pushed" : "") + (t.damage == nil ? "" : ", DAMAGED"), t.host,
            ])
        }
        return TextFormat.table(rows, rightAligned: [0, 2, 3, 4, 5])
    }
}

extension CatalogReindexReport {
    /// What `traces reindex` did, a line each, then the counts.
    public var lines: [String] {
        indexed.map { "indexed \($0)" } + dropped.map { "dropped \($0) (file is gone)" } + failed.map { "FAILED  \($0.error)" }
            + ["\(indexed.count) indexed, \(dropped.count) dropped, \(failed.count) failed"]
    }
}
extension CatalogTrace: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, name, path, records, complete, source, chunks, fingerprint, host, pushed, damage
        case durationNs = "duration_ns", fileBytes = "file_bytes", createdAt = "created_at"
    }

    /// `traces list --json`: one object per trace.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(path, forKey: .path)
        try c.encode(records, forKey: .records)
        try c.encode(lastSubmitNs - firstSubmitNs, forKey: .durationNs)
        try c.encode(fileSize, forKey: .fileBytes)
        try c.encode(complete, forKey: .complete)
        try c.encode("\(sourceKind):\(sourceName)", forKey: .source)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(chunkCount, forKey: .chunks)
        try c.encode(fingerprint, forKey: .fingerprint)
        try c.encode(host, forKey: .host)
        try c.encode(isPushed, forKey: .pushed)
        try c.encode(damage, forKey: .damage)
    }
}

extension CatalogPush {
    /// `traces push`: what went where.
    public var line: String {
        "pushed trace \(trace.id) (\(trace.name)): \(chunks) chunks, \(TextFormat.bytes(UInt64(max(0, bytes)))); any host can now replay it or `vqtrace traces pull \(trace.id) --out FILE`"
    }

    /// `traces pull`: the file written and that it checks.
    public static func pulled(_ trace: CatalogTrace, to path: String, _ verification: TraceVerification) -> String {
        "pulled trace \(trace.id) (\(trace.name)) from host \(trace.host) into \(path): \(verification.chunksGood) chunks, \(verification.recordsReadable) requests, verified"
    }
}
