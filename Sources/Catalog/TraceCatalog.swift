import Foundation
import GRDB
import Trace

/// One catalogued trace, as `traces list` shows it.
public struct CatalogTrace: Equatable, Sendable {
    public var id: Int64
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
    /// Set by `register` when this row replaced the row of a different file at the same path
    /// (that trace's id is gone; its runs keep their results and their trace path).
    public var replacedTraceId: Int64?

    init(row: Row) {
        id = row["id"]
        path = row["path"]
        name = row["name"]
        formatVersion = row["formatVersion"]
        createdAt = row["createdAt"]
        sourceKind = row["sourceKind"]
        sourceName = row["sourceName"]
        fileSize = row["fileSize"]
        complete = row["complete"]
        recovery = row["recovery"]
        records = row["records"]
        mix = [row["reads"], row["writes"], row["flushes"], row["others"]]
        firstSubmitNs = row["firstSubmitNs"]
        lastSubmitNs = row["lastSubmitNs"]
        chunkCount = row["chunkCount"]
        fingerprint = row["fingerprint"]
    }
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

/// A catalog problem, saying which trace or file.
public enum CatalogError: Error, CustomStringConvertible {
    case notFound(String)
    case ambiguous(String, [String])
    case trace(TraceFileError)
    case database(String)
    /// Only finished traces are catalogued: a torn one would be replayed and reported as whole.
    case incomplete(path: String, problem: String)
    /// The catalog file cannot be opened or created.
    case cannotOpen(path: String, problem: String)

    public var description: String {
        switch self {
        case .notFound(let what): return "no trace \"\(what)\" in the catalog (see `vqtrace traces list`)"
        case .ambiguous(let what, let paths): return "\"\(what)\" matches several traces: \(paths.joined(separator: ", "))"
        case .trace(let error): return error.description
        case .database(let what): return "catalog: \(what)"
        case .incomplete(let path, let problem):
            return "\(path) is not a finished trace (\(problem)); only finished traces are catalogued. "
                + "`vqtrace traces repair \(path) --out NEW.vqt` writes its readable records into a finished trace"
        case .cannotOpen(let path, let problem): return "cannot open the catalog \(path): \(problem)"
        }
    }
}

/// The SQLite catalog: an index of trace files and their chunks, and the tables replay runs and
/// their results fill. The files are the truth; `reindex` rebuilds the trace rows from them.
public final class TraceCatalog {
    public let path: String
    let database: DatabaseQueue

    /// Opens (creating if needed) the catalog at `path` and brings its schema up to date.
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        let hint = "pass --catalog PATH (or set up a folder you can write) to use another catalog"
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw CatalogError.cannotOpen(path: path, problem: "it is a folder, not a catalog file; \(hint)")
        }
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), !isFolder.boolValue {
            throw CatalogError.cannotOpen(path: path, problem: "\(folder) is a file, not a folder; \(hint)")
        }
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw CatalogError.cannotOpen(path: path, problem: "cannot create its folder \(folder) (\(error.localizedDescription)); \(hint)")
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try CatalogSchema.migrator.migrate(database)
        } catch {
            // SQLite says "unable to open database file" with no path; say which and why.
            var problem = "\(error)"
            if access(folder, W_OK) != 0 {
                problem = "the folder \(folder) is not writable by this user (SQLite needs to create the catalog and its journal there)"
            } else if FileManager.default.fileExists(atPath: path) && access(path, W_OK) != 0 {
                problem = "the file is not writable by this user"
            }
            throw CatalogError.cannotOpen(path: path, problem: "\(problem); \(hint)")
        }
    }

    /// The names of the migrations applied, in order.
    public func appliedMigrations() throws -> [String] {
        try database.read { try CatalogSchema.migrator.appliedMigrations($0) }
    }

    /// Indexes the finished trace at `path`. The same file indexed again keeps its row and id; a
    /// different file at the same path (a trace replaced with `--force`) gets a new row and id,
    /// and the old row goes (its runs keep their results, and their fingerprint tells a report
    /// that the file changed). A trace that is not finished is refused.
    @discardableResult
    public func register(tracePath: String) throws -> CatalogTrace {
        let absolute = URL(fileURLWithPath: tracePath).standardizedFileURL.path
        let reader: TraceReader
        do { reader = try TraceReader(path: absolute) } catch { throw CatalogError.trace(error) }
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
        return try database.write { db -> CatalogTrace in
            var existing: Int64?
            var replaced: Int64?
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM trace WHERE path = ?", arguments: [absolute]) {
                let old = CatalogTrace(row: row)
                // Rows from before fingerprints: the same file if its counts and times agree.
                let same = old.fingerprint.map { $0 == fingerprint }
                    ?? (old.fileSize == Int64(reader.fileSize) && old.records == Int64(totals.records)
                        && old.firstSubmitNs == Int64(totals.firstSubmitNs) && old.lastSubmitNs == Int64(totals.lastSubmitNs)
                        && old.createdAt == reader.metadata.createdAt)
                if same {
                    existing = old.id
                } else {
                    try db.execute(sql: "DELETE FROM trace WHERE id = ?", arguments: [old.id])
                    replaced = old.id
                }
            }
            let arguments: StatementArguments = [
                absolute, name, "\(reader.majorVersion).\(reader.minorVersion)", reader.metadata.createdAt,
                reader.metadata.source.kind, reader.metadata.source.name, metadataJSON, Int64(reader.fileSize),
                reader.isComplete, reader.recovery, Int64(totals.records), Int64(totals.mix[0]), Int64(totals.mix[1]),
                Int64(totals.mix[2]), Int64(totals.mix[3]), Int64(totals.firstSubmitNs), Int64(totals.lastSubmitNs),
                reader.chunks.count, now, fingerprint,
            ]
            let columns = "path, name, formatVersion, createdAt, sourceKind, sourceName, metadataJSON, fileSize, complete, recovery, records, reads, writes, flushes, others, firstSubmitNs, lastSubmitNs, chunkCount, indexedAt, fingerprint"
            let id: Int64
            if let existing {
                let assignments = columns.split(separator: ",").map { "\($0.trimmingCharacters(in: .whitespaces)) = ?" }.joined(separator: ", ")
                try db.execute(sql: "UPDATE trace SET \(assignments) WHERE id = ?", arguments: arguments + [existing])
                try db.execute(sql: "DELETE FROM traceChunk WHERE traceId = ?", arguments: [existing])
                try db.execute(sql: "DELETE FROM traceDevice WHERE traceId = ?", arguments: [existing])
                id = existing
            } else {
                try db.execute(sql: "INSERT INTO trace (\(columns)) VALUES (\(Array(repeating: "?", count: 20).joined(separator: ", ")))", arguments: arguments)
                id = db.lastInsertedRowID
            }
            for (i, device) in reader.metadata.devices.enumerated() {
                try db.execute(
                    sql: "INSERT INTO traceDevice (traceId, device, name, capacitySectors, logicalBlockSize, numQueues, queueSize) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [id, i, device.name, Int64(device.capacitySectors), Int64(device.logicalBlockSize), Int64(device.numQueues), Int64(device.queueSize)])
            }
            let insertChunk = try db.makeStatement(sql: "INSERT INTO traceChunk (traceId, chunkIndex, offset, length, firstSubmitNs, lastSubmitNs, records, queueSet) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            for (i, chunk) in reader.chunks.enumerated() {
                try insertChunk.execute(arguments: [id, i, Int64(chunk.offset), Int64(chunk.length), Int64(chunk.firstSubmitNs), Int64(chunk.lastSubmitNs), Int64(chunk.recordCount), queueSets[i]])
            }
            var trace = CatalogTrace(row: try Row.fetchOne(db, sql: "SELECT * FROM trace WHERE id = ?", arguments: [id])!)
            trace.replacedTraceId = replaced
            return trace
        }
    }

    /// Every catalogued trace, oldest first.
    public func traces() throws -> [CatalogTrace] {
        try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM trace ORDER BY id").map(CatalogTrace.init(row:)) }
    }

    /// The chunk rows of a trace, in file order.
    public func chunks(ofTrace id: Int64) throws -> [CatalogChunk] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM traceChunk WHERE traceId = ? ORDER BY chunkIndex", arguments: [id]).map {
                CatalogChunk(chunkIndex: $0["chunkIndex"], offset: $0["offset"], length: $0["length"], firstSubmitNs: $0["firstSubmitNs"],
                             lastSubmitNs: $0["lastSubmitNs"], records: $0["records"], queueSet: $0["queueSet"])
            }
        }
    }

    /// Finds a trace by id, by path, or by name (the file name without .vqt).
    public func find(_ reference: String) throws -> CatalogTrace {
        let absolute = URL(fileURLWithPath: reference).standardizedFileURL.path
        let matches = try database.read { db -> [CatalogTrace] in
            if let id = Int64(reference), let row = try Row.fetchOne(db, sql: "SELECT * FROM trace WHERE id = ?", arguments: [id]) {
                return [CatalogTrace(row: row)]
            }
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM trace WHERE path = ?", arguments: [absolute]) {
                return [CatalogTrace(row: row)]
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM trace WHERE name = ? ORDER BY id", arguments: [reference]).map(CatalogTrace.init(row:))
        }
        guard let first = matches.first else { throw CatalogError.notFound(reference) }
        guard matches.count == 1 else { throw CatalogError.ambiguous(reference, matches.map(\.path)) }
        return first
    }

    /// Removes a trace's rows (chunks and devices go with it; runs keep their results).
    public func remove(traceId: Int64) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM trace WHERE id = ?", arguments: [traceId]) }
    }

    /// What `reindex` did.
    public struct ReindexReport: Sendable {
        public var indexed: [String] = []
        public var dropped: [String] = []
        public var failed: [(path: String, error: String)] = []
    }

    /// Rebuilds the trace and chunk rows from the files: every catalogued path and every *.vqt in
    /// `directories` is read again; rows of files that no longer exist are dropped.
    public func reindex(directories: [String]) throws -> ReindexReport {
        var report = ReindexReport()
        var paths = Set(try traces().map(\.path))
        for directory in directories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files where file.hasSuffix(".vqt") {
                paths.insert(URL(fileURLWithPath: directory).appendingPathComponent(file).standardizedFileURL.path)
            }
        }
        for path in paths.sorted() {
            if !FileManager.default.fileExists(atPath: path) {
                if let trace = try? find(path) { try remove(traceId: trace.id) }
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

    /// Runs an arbitrary read-only query (tests and reports use it to look at the tables).
    public func rows(_ sql: String, _ arguments: [any DatabaseValueConvertible] = []) throws -> [[String: String]] {
        try database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                var result: [String: String] = [:]
                for (column, value) in row {
                    switch value.storage {
                    case .null: result[column] = "NULL"
                    case .int64(let i): result[column] = "\(i)"
                    case .double(let d): result[column] = "\(d)"
                    case .string(let s): result[column] = s
                    case .blob(let data): result[column] = "<\(data.count) bytes>"
                    }
                }
                return result
            }
        }
    }
}

/// The fields a replay run starts with (results are added as the run ends).
public struct NewRun: Sendable {
    public var traceId: Int64?
    public var tracePath: String
    public var layoutSpec: String
    public var layoutJSON: String
    public var backend: String
    public var timing: String
    public var speed: Double
    public var target: String
    public var hostJSON: String
    public var startedAt: String
    public var sweepId: Int64?
    /// The replayed file's `TraceReader.fingerprint`.
    public var traceFingerprint: String?

    public init(traceId: Int64?, tracePath: String, layoutSpec: String, layoutJSON: String, backend: String, timing: String,
                speed: Double = 1, target: String, hostJSON: String, startedAt: String = ISO8601DateFormatter().string(from: Date()),
                sweepId: Int64? = nil, traceFingerprint: String? = nil) {
        self.sweepId = sweepId
        self.traceFingerprint = traceFingerprint
        self.traceId = traceId
        self.tracePath = tracePath
        self.layoutSpec = layoutSpec
        self.layoutJSON = layoutJSON
        self.backend = backend
        self.timing = timing
        self.speed = speed
        self.target = target
        self.hostJSON = hostJSON
        self.startedAt = startedAt
    }
}

extension TraceCatalog {
    /// Starts a sweep (a set of runs compared in one report) and returns its id.
    public func createSweep(traceId: Int64?, parametersJSON: String) throws -> Int64 {
        try database.write { db in
            try db.execute(sql: "INSERT INTO sweep (traceId, createdAt, parametersJSON) VALUES (?, ?, ?)",
                           arguments: [traceId, ISO8601DateFormatter().string(from: Date()), parametersJSON])
            return db.lastInsertedRowID
        }
    }

    /// The latency histogram blobs of a run's queues.
    public func queueHistograms(runId: Int64) throws -> [Data] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT latencyHistogram FROM runQueue WHERE runId = ? ORDER BY device, vq", arguments: [runId])
                .compactMap { $0["latencyHistogram"] as Data? }
        }
    }

    /// Stores the start of a replay run and returns its id.
    public func insertRun(_ run: NewRun) throws -> Int64 {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO run (traceId, tracePath, layoutSpec, layoutJSON, backend, timing, speed, target, hostJSON, startedAt, sweepId, traceFingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [run.traceId, run.tracePath, run.layoutSpec, run.layoutJSON, run.backend, run.timing, run.speed, run.target, run.hostJSON, run.startedAt, run.sweepId, run.traceFingerprint])
            return db.lastInsertedRowID
        }
    }
}

/// One IOThread's counters as a run stores them.
public struct RunIOThreadRow: Sendable, Equatable {
    public var name: String
    public var requests: Int64
    public var passes: Int64
    public var kicks: Int64
    public var notifications: Int64
    public var cpuPercent: Double
    public init(name: String, requests: Int64, passes: Int64, kicks: Int64, notifications: Int64, cpuPercent: Double) {
        self.name = name
        self.requests = requests
        self.passes = passes
        self.kicks = kicks
        self.notifications = notifications
        self.cpuPercent = cpuPercent
    }
}

/// One vq's totals and its latency histogram (serialized by the caller) as a run stores them.
public struct RunQueueRow: Sendable, Equatable {
    public var device: Int
    public var vq: Int
    public var requests: Int64
    public var bytes: Int64
    public var latencyHistogram: Data
    public init(device: Int, vq: Int, requests: Int64, bytes: Int64, latencyHistogram: Data) {
        self.device = device
        self.vq = vq
        self.requests = requests
        self.bytes = bytes
        self.latencyHistogram = latencyHistogram
    }
}

extension TraceCatalog {
    /// Stores a run's end: its summary (JSON), warning, per-IOThread and per-vq rows, and the
    /// completions per 100 ms bucket. One transaction: a run is stored whole or not at all.
    public func finishRun(_ id: Int64, endedAt: String = ISO8601DateFormatter().string(from: Date()), warning: String?, summaryJSON: String,
                          iothreads: [RunIOThreadRow], queues: [RunQueueRow], timeline: [UInt64], windowFromNs: Int64?, windowToNs: Int64?, vms: Int) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE run SET endedAt = ?, warning = ?, summaryJSON = ?, windowFromNs = ?, windowToNs = ?, vms = ? WHERE id = ?",
                           arguments: [endedAt, warning, summaryJSON, windowFromNs, windowToNs, vms, id])
            for t in iothreads {
                try db.execute(sql: "INSERT INTO runIOThread (runId, iothread, requests, passes, kicks, notifications, cpuPercent) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               arguments: [id, t.name, t.requests, t.passes, t.kicks, t.notifications, t.cpuPercent])
            }
            for q in queues {
                try db.execute(sql: "INSERT INTO runQueue (runId, device, vq, requests, bytes, latencyHistogram) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [id, q.device, q.vq, q.requests, q.bytes, q.latencyHistogram])
            }
            for (bucket, count) in timeline.enumerated() {
                try db.execute(sql: "INSERT INTO runTimeline (runId, bucket, requests, bytes) VALUES (?, ?, ?, 0)", arguments: [id, bucket, Int64(count)])
            }
        }
    }
}

extension CatalogTrace: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, name, path, records, complete, source, chunks, fingerprint
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
    }
}
