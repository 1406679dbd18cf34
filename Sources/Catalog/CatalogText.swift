import Foundation
import Units

extension TraceCatalog {
    /// What a command's TRACE names: an existing file (and its catalog row, when the catalog at
    /// `catalogPath` exists and has one), else a catalog id or name.
    public static func resolve(_ reference: String, catalogPath: String) throws -> (path: String, catalogued: CatalogTrace?) {
        if FileManager.default.fileExists(atPath: reference) {
            let existing = FileManager.default.fileExists(atPath: catalogPath) ? try? TraceCatalog(path: catalogPath).find(reference) : nil
            return (reference, existing)
        }
        let trace = try TraceCatalog(path: catalogPath).find(reference)
        return (trace.path, trace)
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
        var rows = [["id", "name", "requests", "duration", "size", "B/req", "source", "state"]]
        for t in traces {
            rows.append([
                "\(t.id)", t.name, "\(t.records)", TextFormat.duration(UInt64(max(0, t.lastSubmitNs - t.firstSubmitNs))),
                TextFormat.bytes(UInt64(max(0, t.fileSize))), t.records > 0 ? String(format: "%.2f", Double(t.fileSize) / Double(t.records)) : "-",
                "\(t.sourceKind):\(t.sourceName)", t.complete ? "complete" : "recovered",
            ])
        }
        return TextFormat.table(rows, rightAligned: [0, 2, 3, 4, 5])
    }
}

extension TraceCatalog.ReindexReport {
    /// What `traces reindex` did, a line each, then the counts.
    public var lines: [String] {
        indexed.map { "indexed \($0)" } + dropped.map { "dropped \($0) (file is gone)" } + failed.map { "FAILED  \($0.error)" }
            + ["\(indexed.count) indexed, \(dropped.count) dropped, \(failed.count) failed"]
    }
}
