import Foundation
import Trace

/// One catalogued trace, as `traces list` shows it.
public struct CatalogTrace: Equatable, Sendable {
    public var id: Int64
    /// The file's absolute path on `host`.
    public var path: String
    public var name: String
    public var formatVersion: String
    public var createdAt: String
    public var sourceKind: String
    public var sourceName: String
    public var fileSize: Int64
    public var complete: Bool
    public var recovery: String?
    public var records: Int64
    /// Records per class: read, write, flush, other.
    public var mix: [Int64]
    public var firstSubmitNs: Int64
    public var lastSubmitNs: Int64
    public var chunkCount: Int64
    /// Identifies the file's content (`TraceReader.fingerprint`); nil for rows catalogued before
    /// fingerprints were kept.
    public var fingerprint: String?
    /// The host whose file it is (its `--host-label` or hostname), with its facts.
    public var host: String
    public var hostCPUModel: String?
    public var hostCPUs: Int?
    public var hostKernel: String?
    /// Whether the catalog holds the file's bytes (`traces push`): any host can then replay it.
    public var isPushed: Bool
    /// Set by `register` when this row replaced the row of a different file at the same path
    /// (that trace's id is gone; its runs keep their results and their trace path).
    public var replacedTraceId: Int64?

    init(row: CatalogRow) {
        id = row.int64("id")
        path = row.string("path")
        name = row.string("name")
        formatVersion = row.string("formatVersion")
        createdAt = row.string("createdAt")
        sourceKind = row.string("sourceKind")
        sourceName = row.string("sourceName")
        fileSize = row.int64("fileSize")
        complete = row.bool("complete")
        recovery = row.optionalString("recovery")
        records = row.int64("records")
        mix = [row.int64("reads"), row.int64("writes"), row.int64("flushes"), row.int64("others")]
        firstSubmitNs = row.int64("firstSubmitNs")
        lastSubmitNs = row.int64("lastSubmitNs")
        chunkCount = row.int64("chunkCount")
        fingerprint = row.optionalString("fingerprint")
        host = row.string("host")
        hostCPUModel = row.optionalString("hostCPUModel")
        hostCPUs = row.optionalInt64("hostCPUs").map(Int.init)
        hostKernel = row.optionalString("hostKernel")
        isPushed = row.bool("pushed")
    }

    /// The trace's columns without its bytes, and whether it was pushed.
    static let columns = (CatalogSchema.traceColumnsV2 + ["host", "hostCPUModel", "hostCPUs", "hostKernel"]).joined(separator: ", ")
        + ", (trailerBytes IS NOT NULL) AS pushed"
}

/// One chunk row of the catalog.
public struct CatalogChunk: Equatable, Sendable {
    public var chunkIndex: Int64
    public var offset: Int64
    public var length: Int64
    public var firstSubmitNs: Int64
    public var lastSubmitNs: Int64
    public var records: Int64
    public var queueSet: String
}

/// A catalog problem, saying which trace, file or server.
public enum CatalogError: Error, CustomStringConvertible {
    case notFound(String)
    case ambiguous(String, [String])
    case trace(TraceFileError)
    case database(String)
    /// Only finished traces are catalogued: a torn one would be replayed and reported as whole.
    case incomplete(path: String, problem: String)
    /// The catalog file cannot be opened or created.
    case cannotOpen(path: String, problem: String)
    /// The PostgreSQL server cannot be reached or refused the connection.
    case unreachable(location: String, problem: String)
    /// The trace is catalogued, but its file is on another host and its bytes were never pushed.
    case notHere(trace: String, host: String, path: String)

    public var description: String {
        switch self {
        case .notFound(let what):
            // A path that is not there reads better as a missing file than as an unknown name.
            if what.contains("/") || what.hasSuffix(".vqt") { return "no trace \"\(what)\": there is no such file, and no catalogued trace of that name (see `vqtrace traces list`)" }
            return "no trace \"\(what)\" in the catalog (see `vqtrace traces list`)"
        case .ambiguous(let what, let paths): return "\"\(what)\" matches several traces: \(paths.joined(separator: ", ")); name one by its id"
        case .trace(let error): return error.description
        case .database(let what): return "catalog: \(what)"
        case .incomplete(let path, let problem):
            return "\(path) is not a finished trace (\(problem)); only finished traces are catalogued. "
                + "`vqtrace traces repair \(path) --out NEW.vqt` writes its readable records into a finished trace"
        case .cannotOpen(let path, let problem): return "cannot open the catalog \(path): \(problem)"
        case .unreachable(let location, let problem): return "cannot reach the catalog \(location): \(problem)"
        case .notHere(let trace, let host, let path):
            return "trace \(trace) is a file on host \(host) (\(path)) and is not in the catalog itself; "
                + "on \(host), `vqtrace traces push \(trace) --catalog …` stores it there for every host"
        }
    }
}

extension CatalogStore {
    /// Indexes the finished trace at `path` as this host's. The same file indexed again keeps
    /// its row and id; a different file at the same path (a trace replaced with `--force`) gets
    /// a new row and id, and the old row goes (its runs keep their results, and their
    /// fingerprint tells a report that the file changed). A trace that is not finished is refused.
    @discardableResult
    public func register(tracePath: String) throws -> CatalogTrace {
        let absolute = URL(fileURLWithPath: tracePath).standardizedFileURL.path
        let reader: TraceReader
        do { reader = try TraceReader(path: absolute) } catch { throw CatalogError.trace(error) }
        return try register(reader, path: absolute)
    }

    /// Indexes an open reader's trace under `path` (the file's path on this host).
    func register(_ reader: TraceReader, path absolute: String) throws -> CatalogTrace {
        if let recovery = reader.recovery { throw CatalogError.incomplete(path: absolute, problem: recovery) }
        var queueSets: [String] = []
        for i in 0..<reader.chunks.count {
            do { queueSets.append(QueueSetText.format(try reader.queueSet(ofChunk: i))) } catch { throw CatalogError.trace(error) }
        }
        let metadataJSON: String = {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return (try? encoder.encode(reader.metadata)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        }()
        let name = ((absolute as NSString).lastPathComponent as NSString).deletingPathExtension
        let totals = reader.totals
        let now = ISO8601DateFormatter().string(from: Date())
        let fingerprint = reader.fingerprint
        let host = self.host
        return try write { db -> CatalogTrace in
            var existing: Int64?
            var replaced: Int64?
            if let row = try db.first("SELECT \(CatalogTrace.columns) FROM trace WHERE host = ? AND path = ?", [host.name, absolute]) {
                let old = CatalogTrace(row: row)
                // Rows from before fingerprints: the same file if its counts and times agree.
                let same = old.fingerprint.map { $0 == fingerprint }
                    ?? (old.fileSize == Int64(reader.fileSize) && old.records == Int64(totals.records)
                        && old.firstSubmitNs == Int64(totals.firstSubmitNs) && old.lastSubmitNs == Int64(totals.lastSubmitNs)
                        && old.createdAt == reader.metadata.createdAt)
                if same {
                    existing = old.id
                } else {
                    try db.execute("DELETE FROM trace WHERE id = ?", [old.id])
                    replaced = old.id
                }
            }
            let arguments: [any CatalogBindable] = [
                absolute, name, "\(reader.majorVersion).\(reader.minorVersion)", reader.metadata.createdAt,
                reader.metadata.source.kind, reader.metadata.source.name, metadataJSON, Int64(reader.fileSize),
                reader.isComplete, reader.recovery, Int64(totals.records), Int64(totals.mix[0]), Int64(totals.mix[1]),
                Int64(totals.mix[2]), Int64(totals.mix[3]), Int64(totals.firstSubmitNs), Int64(totals.lastSubmitNs),
                reader.chunks.count, now, fingerprint, host.name, host.cpuModel, host.cpus, host.kernel,
            ]
            let columns = ["path", "name", "formatVersion", "createdAt", "sourceKind", "sourceName", "metadataJSON", "fileSize", "complete",
                           "recovery", "records", "reads", "writes", "flushes", "others", "firstSubmitNs", "lastSubmitNs", "chunkCount",
                           "indexedAt", "fingerprint", "host", "hostCPUModel", "hostCPUs", "hostKernel"]
            let id: Int64
            if let existing {
                // The same file: the index is the same, and bytes pushed before stay with it.
                try db.execute("UPDATE trace SET \(columns.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ?", arguments + [existing])
                id = existing
            } else {
                id = try db.insert("INSERT INTO trace (\(columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))", arguments)
                try db.insertMany("traceDevice", ["traceId", "device", "name", "capacitySectors", "logicalBlockSize", "numQueues", "queueSize"],
                                  reader.metadata.devices.enumerated().map { i, device in
                                      [.integer(id), .integer(Int64(i)), .text(device.name), .integer(Int64(device.capacitySectors)),
                                       .integer(Int64(device.logicalBlockSize)), .integer(Int64(device.numQueues)), .integer(Int64(device.queueSize))]
                                  })
                try db.insertMany("traceChunk", ["traceId", "chunkIndex", "\"offset\"", "length", "firstSubmitNs", "lastSubmitNs", "records", "queueSet"],
                                  reader.chunks.enumerated().map { i, chunk in
                                      [.integer(id), .integer(Int64(i)), .integer(Int64(chunk.offset)), .integer(Int64(chunk.length)),
                                       .integer(Int64(chunk.firstSubmitNs)), .integer(Int64(chunk.lastSubmitNs)), .integer(Int64(chunk.recordCount)),
                                       .text(queueSets[i])]
                                  })
            }
            var trace = CatalogTrace(row: try db.first("SELECT \(CatalogTrace.columns) FROM trace WHERE id = ?", [id])!)
            trace.replacedTraceId = replaced
            return trace
        }
    }

    /// Every catalogued trace, oldest first.
    public func traces() throws -> [CatalogTrace] {
        try read { db in try db.query("SELECT \(CatalogTrace.columns) FROM trace ORDER BY id").map(CatalogTrace.init(row:)) }
    }

    /// The chunk rows of a trace, in file order.
    public func chunks(ofTrace id: Int64) throws -> [CatalogChunk] {
        try read { db in
            try db.query("SELECT chunkIndex, \"offset\", length, firstSubmitNs, lastSubmitNs, records, queueSet FROM traceChunk WHERE traceId = ? ORDER BY chunkIndex", [id]).map {
                CatalogChunk(chunkIndex: $0.int64("chunkIndex"), offset: $0.int64("offset"), length: $0.int64("length"),
                             firstSubmitNs: $0.int64("firstSubmitNs"), lastSubmitNs: $0.int64("lastSubmitNs"), records: $0.int64("records"),
                             queueSet: $0.string("queueSet"))
            }
        }
    }

    /// Finds a trace by id, by path (this host's file), or by name (the file name without .vqt).
    /// A name several hosts catalogued finds this host's trace, else the pushed one, else the
    /// one trace they all are (the same fingerprint); different traces of one name are ambiguous.
    public func find(_ reference: String) throws -> CatalogTrace {
        let absolute = URL(fileURLWithPath: reference).standardizedFileURL.path
        let host = self.host.name
        let matches = try read { db -> [CatalogTrace] in
            if let id = Int64(reference), let row = try db.first("SELECT \(CatalogTrace.columns) FROM trace WHERE id = ?", [id]) {
                return [CatalogTrace(row: row)]
            }
            if let row = try db.first("SELECT \(CatalogTrace.columns) FROM trace WHERE host = ? AND path = ?", [host, absolute]) {
                return [CatalogTrace(row: row)]
            }
            let byPath = try db.query("SELECT \(CatalogTrace.columns) FROM trace WHERE path = ? ORDER BY id", [absolute]).map(CatalogTrace.init(row:))
            if !byPath.isEmpty { return byPath }
            return try db.query("SELECT \(CatalogTrace.columns) FROM trace WHERE name = ? ORDER BY id", [reference]).map(CatalogTrace.init(row:))
        }
        guard let first = matches.first else { throw CatalogError.notFound(reference) }
        if matches.count == 1 { return first }
        if let mine = matches.first(where: { $0.host == host }) { return mine }
        if let pushed = matches.first(where: \.isPushed) { return pushed }
        if Set(matches.map(\.fingerprint)).count == 1 && first.fingerprint != nil { return first }
        throw CatalogError.ambiguous(reference, matches.map { "\($0.id) (\($0.host):\($0.path))" })
    }

    /// Removes a trace's rows (chunks, bytes and devices go with it; runs keep their results).
    public func remove(traceId: Int64) throws {
        try write { db in try db.execute("DELETE FROM trace WHERE id = ?", [traceId]) }
    }

    /// `traces rm`: drops the trace `reference` names and, unless `keepFile`, deletes its file
    /// when it is this host's; says what it did.
    public func remove(_ reference: String, keepFile: Bool) throws -> String {
        let entry = try find(reference)
        try remove(traceId: entry.id)
        let deletes = !keepFile && entry.host == host.name && FileManager.default.fileExists(atPath: entry.path)
        if deletes { try FileManager.default.removeItem(atPath: entry.path) }
        return "removed trace \(entry.id) (\(entry.name))" + (deletes ? " and deleted \(entry.path)" : "; kept \(entry.path)")
    }

    /// Rebuilds this host's trace and chunk rows from the files: every path it catalogued and
    /// every *.vqt in `directories` is read again; rows of files that no longer exist are dropped.
    public func reindex(directories: [String]) throws -> CatalogReindexReport {
        var report = CatalogReindexReport()
        var paths = Set(try traces().filter { $0.host == host.name }.map(\.path))
        for directory in directories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files where file.hasSuffix(".vqt") {
                paths.insert(URL(fileURLWithPath: directory).appendingPathComponent(file).standardizedFileURL.path)
            }
        }
        for path in paths.sorted() {
            if !FileManager.default.fileExists(atPath: path) {
                if let trace = try? find(path), trace.host == host.name, !trace.isPushed { try remove(traceId: trace.id) }
                report.dropped.append(path)
                continue
            }
            do {
                try register(tracePath: path)
                report.indexed.append(path)
            } catch {
                report.failed.append((path, "\(error)"))
            }
        }
        return report
    }
}

/// What `reindex` did.
public struct CatalogReindexReport: Sendable {
    public var indexed: [String] = []
    public var dropped: [String] = []
    public var failed: [(path: String, error: String)] = []
}
