import Foundation
import GRDB
import Trace

/// The SQLite catalog, the embedded default: a local file (Traces/catalog.sqlite) with an index
/// of trace files and their chunks, and the tables replay runs and their results fill. The files
/// are the truth; `reindex` rebuilds the trace rows from them. Several processes of one host
/// may write at once: SQLite serializes them (each waits up to 5 s for the lock).
public final class TraceCatalog: CatalogStore {
    /// The catalog file.
    public let path: String
    public let host: CatalogHost
    let database: DatabaseQueue

    public var location: String { path }

    /// Opens (creating if needed) the catalog at `path` and brings its schema up to date; rows
    /// it writes are `host`'s.
    public init(path: String, host: CatalogHost = .current()) throws {
        self.path = path
        self.host = host
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

    public func appliedMigrations() throws -> [String] {
        try database.read { try CatalogSchema.migrator.appliedMigrations($0) }
    }

    public func read<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try mapped { try database.read { try body(SQLiteStatements(db: $0)) } }
    }

    public func write<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        // IMMEDIATE: take the write lock at the start, so that two processes that both read
        // before writing wait for each other instead of one failing with SQLITE_BUSY midway.
        try mapped {
            var result: T?
            try database.inTransaction(.immediate) { db in
                result = try body(SQLiteStatements(db: db))
                return .commit
            }
            return result!
        }
    }

    /// GRDB's errors as catalog errors that name the file; the catalog's own pass through.
    private func mapped<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DatabaseError {
            throw CatalogError.database("\(path): \(error.message ?? "\(error)")")
        }
    }
}

/// The catalog's statements on a GRDB connection inside a transaction.
struct SQLiteStatements: CatalogSQL {
    let db: Database

    func execute(_ sql: String, _ arguments: [CatalogValue]) throws {
        try db.execute(sql: sql, arguments: StatementArguments(arguments.map(Self.value)))
    }

    func query(_ sql: String, _ arguments: [CatalogValue]) throws -> [CatalogRow] {
        try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments.map(Self.value))).map { row in
            CatalogRow(columns: row.map { column, value in
                switch value.storage {
                case .null: return (column, .null)
                case .int64(let i): return (column, .integer(i))
                case .double(let d): return (column, .real(d))
                case .string(let s): return (column, .text(s))
                case .blob(let data): return (column, .blob(data))
                }
            })
        }
    }

    static func value(_ value: CatalogValue) -> DatabaseValue {
        switch value {
        case .null: return .null
        case .integer(let i): return i.databaseValue
        case .real(let d): return d.databaseValue
        case .text(let s): return s.databaseValue
        case .blob(let data): return data.databaseValue
        case .boolean(let b): return b.databaseValue
        }
    }
}
