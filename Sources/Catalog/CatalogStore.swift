import Foundation

/// Statements inside one transaction of a catalog store. The SQL is the catalog's one dialect:
/// `?` placeholders, identifiers as in CatalogSchema (unquoted, except the keyword `"offset"`),
/// `INSERT … RETURNING id` for new ids. Each store maps it onto its database.
public protocol CatalogSQL {
    /// Runs a statement that returns no rows.
    func execute(_ sql: String, _ arguments: [CatalogValue]) throws
    /// Runs a query and returns every row.
    func query(_ sql: String, _ arguments: [CatalogValue]) throws -> [CatalogRow]
}

extension CatalogSQL {
    func execute(_ sql: String, _ arguments: [any CatalogBindable] = []) throws { try execute(sql, arguments.map(\.catalogValue)) }
    func query(_ sql: String, _ arguments: [any CatalogBindable] = []) throws -> [CatalogRow] { try query(sql, arguments.map(\.catalogValue)) }
    func first(_ sql: String, _ arguments: [any CatalogBindable] = []) throws -> CatalogRow? { try query(sql, arguments).first }

    /// Inserts one row and returns its new id (a sequence on PostgreSQL, the rowid on SQLite, so
    /// that hosts writing at once never get the same id).
    func insert(_ sql: String, _ arguments: [any CatalogBindable]) throws -> Int64 {
        guard let id = try query(sql + " RETURNING id", arguments).first?.optionalInt64("id") else {
            throw CatalogError.database("an insert returned no id: \(sql)")
        }
        return id
    }

    /// Inserts many rows of `columns` into `table` in as few statements as the databases allow
    /// (a run's timeline and queues go in a handful of round trips, not one per row).
    func insertMany(_ table: String, _ columns: [String], _ rows: [[CatalogValue]]) throws {
        guard !rows.isEmpty else { return }
        // SQLite allows 32766 bound values a statement, PostgreSQL 65535.
        let perStatement = max(1, 30_000 / columns.count)
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(rows.count, start + perStatement)]
            try execute("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                        + Array(repeating: tuple, count: batch.count).joined(separator: ", "), Array(batch.joined()))
            start += batch.count
        }
    }
}

/// A catalog of traces, their chunks, sweeps and replay runs: what every command reads and
/// writes, the same on either store. `TraceCatalog` keeps it in a local SQLite file (the
/// embedded default); `PostgresCatalog` keeps it in a PostgreSQL database that a fleet of hosts
/// shares. `CatalogLocation` opens the one a `--catalog` value names.
///
/// The operations (register, find, store a run, push a trace, …) are written once, in
/// extensions of this protocol, over `read` and `write`: a store only provides transactions and
/// its dialect. Every method is synchronous: the replay engine and the commands are, and a
/// store that talks to its database asynchronously waits for the answer inside.
public protocol CatalogStore: AnyObject, Sendable {
    /// Where the catalog is, for people: a file path, or postgres://USER@HOST:PORT/DB (never a password).
    var location: String { get }
    /// The host whose rows this store writes (its name is `--host-label` when given).
    var host: CatalogHost { get }
    /// Runs `body` in one transaction that only reads.
    func read<T>(_ body: (any CatalogSQL) throws -> T) throws -> T
    /// Runs `body` in one transaction: all of it is stored, or (on a throw, or a crash) none.
    func write<T>(_ body: (any CatalogSQL) throws -> T) throws -> T
    /// The names of the migrations applied, in order.
    func appliedMigrations() throws -> [String]
    /// Runs `body`, which reads with one statement: a store may skip the transaction around it
    /// (one statement is consistent on its own), which saves a chunk fetch two round trips.
    func readStatement<T>(_ body: (any CatalogSQL) throws -> T) throws -> T
}

extension CatalogStore {
    public func readStatement<T>(_ body: (any CatalogSQL) throws -> T) throws -> T { try read(body) }
}

extension CatalogStore {
    /// Runs an arbitrary read-only query (tests and reports use it to look at the tables).
    /// Column names come back as the catalog spells them, on either store.
    public func rows(_ sql: String, _ arguments: [any CatalogBindable] = []) throws -> [[String: String]] {
        try read { db in
            try db.query(sql, arguments).map { row in
                var result: [String: String] = [:]
                for column in row.columns { result[CatalogSchema.canonicalName(column.name)] = column.value.display }
                return result
            }
        }
    }
}
