import Foundation
import PostgresNIO

/// The shared catalog of a fleet: the same tables and migrations as the SQLite catalog, in a
/// PostgreSQL database that every host writes its traces, sweeps and runs into.
///
/// postgres-nio is asynchronous; the engine, the sweeps and the commands are not, and must not
/// become so (a replay's timing lives on plain threads). So this store owns one event-loop
/// thread of its own, and each statement is sent there and waited for (`EventLoopFuture.wait`)
/// on the caller's thread. The caller is never that event loop, so the wait cannot deadlock,
/// and no Swift concurrency executor is blocked. One connection, one statement at a time: the
/// lock serializes the threads of one process (a sweep's, a feed's); hosts write concurrently
/// through their own connections, and the server's transactions keep them apart.
public final class PostgresCatalog: CatalogStore, @unchecked Sendable {
    public let address: PostgresAddress
    public let host: CatalogHost
    public var location: String { address.description }

    private let group: MultiThreadedEventLoopGroup
    private let connection: PostgresConnection
    private let lock = NSLock()
    private let logger: Logger = {
        var logger = Logger(label: "vqtrace.catalog.postgres")
        logger.logLevel = .critical  // failures are thrown, with what to check; no log noise on stderr
        return logger
    }()

    /// Connects to `address` and brings its schema up to date (migrations are serialized by an
    /// advisory lock, so hosts that start at once migrate once). Throws `CatalogError.unreachable`
    /// naming the host and port and what to check.
    public init(address: PostgresAddress, host: CatalogHost = .current()) throws {
        self.address = address
        self.host = host
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = PostgresConnection.Configuration(
            host: address.host, port: address.port, username: address.user, password: address.password, database: address.database,
            tls: .disable)
        if address.requireTLS {
            do { configuration.tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration())) } catch {
                try? group.syncShutdownGracefully()
                throw CatalogError.unreachable(location: address.description, problem: "TLS could not be set up: \(error)")
            }
        }
        configuration.options.connectTimeout = .seconds(10)
        do {
            connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: 1, logger: logger).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw CatalogError.unreachable(location: address.description, problem: Self.explain(error, address))
        }
        do { try migrate() } catch {
            try? connection.close().wait()
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    deinit {
        try? connection.close().wait()
        try? group.syncShutdownGracefully()
    }

    public func read<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try transaction("BEGIN TRANSACTION READ ONLY", body)
    }

    public func write<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try transaction("BEGIN", body)
    }

    public func readStatement<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(PostgresStatements(catalog: self))
    }

    public func appliedMigrations() throws -> [String] {
        try read { db in try db.query("SELECT identifier FROM schemaMigration ORDER BY appliedOrder").map { $0.string("identifier") } }
    }

    /// Runs `sql` outside any transaction (CREATE DATABASE cannot run inside one).
    public func executeAlone(_ sql: String) throws {
        lock.lock()
        defer { lock.unlock() }
        try PostgresStatements(catalog: self).execute(sql, [])
    }

    private func transaction<T>(_ begin: String, _ body: (any CatalogSQL) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let statements = PostgresStatements(catalog: self)
        try statements.execute(begin, [])
        do {
            let result = try body(statements)
            try statements.execute("COMMIT", [])
            return result
        } catch {
            try? statements.execute("ROLLBACK", [])
            throw error
        }
    }

    /// Applies the migrations this database lacks, in one transaction, under an advisory lock.
    private func migrate() throws {
        try write { db in
            // Any constant: the lock only has to be the same one on every host.
            try db.execute("SELECT pg_advisory_xact_lock(5647201)", [])
            try db.execute("CREATE TABLE IF NOT EXISTS schemaMigration (identifier text PRIMARY KEY, appliedOrder bigint NOT NULL, appliedAt text NOT NULL)", [])
            let applied = Set(try db.query("SELECT identifier FROM schemaMigration", []).map { $0.string("identifier") })
            for (order, migration) in CatalogSchema.postgresMigrations.enumerated() where !applied.contains(migration.name) {
                for statement in migration.statements { try db.execute(statement, []) }
                try db.execute("INSERT INTO schemaMigration (identifier, appliedOrder, appliedAt) VALUES (?, ?, ?)",
                               [migration.name, order, ISO8601DateFormatter().string(from: Date())])
            }
        }
    }

    /// Runs one statement and collects its rows (called with the lock held).
    fileprivate func run(_ sql: String, _ arguments: [CatalogValue]) throws -> [PostgresRow] {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .real(let d): binds.append(d)
            case .text(let s): binds.append(s)
            case .blob(let data): binds.append(ByteBuffer(bytes: data))
            case .boolean(let b): binds.append(b)
            }
        }
        let query = PostgresQuery(unsafeSQL: Self.numberedPlaceholders(sql), binds: binds)
        do {
            return try connection.query(query, logger: logger).wait().rows
        } catch {
            if connection.isClosed {
                throw CatalogError.unreachable(location: address.description, problem: "the connection was lost (\(Self.explain(error, address)))")
            }
            throw CatalogError.database("\(address.description): \(Self.explain(error, address))")
        }
    }

    /// The catalog's `?` placeholders as PostgreSQL's `$1, $2, …` (none is inside a quoted
    /// string or name in the catalog's SQL, but quotes are skipped all the same).
    static func numberedPlaceholders(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.count + 16)
        var n = 0
        var quote: Character?
        for c in sql {
            if let q = quote {
                if c == q { quote = nil }
                out.append(c)
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// What went wrong, for people: the server's message, or for a connection that failed,
    /// where it tried and what to check.
    static func explain(_ error: any Error, _ address: PostgresAddress) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let info = psql.serverInfo, let message = info[.message] {
            let state = info[.sqlState] ?? ""
            var text = message
            if let detail = info[.detail] { text += " (\(detail))" }
            switch state {
            case "28P01", "28000":
                text += "; check the user and password (PGPASSWORD) and the server's pg_hba.conf entry for this host"
            case "3D000":
                text += "; create it first: createdb -h \(address.host) -p \(address.port) -U \(address.user) \(address.database)"
            default: break
            }
            return text
        }
        let underlying = psql.underlying.map { "\($0)" } ?? "\(psql.code)"
        switch psql.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown:
            return "no PostgreSQL answered at \(address.host):\(address.port) (\(underlying)); check that the server runs there, "
                + "listens on TCP at that address and port (listen_addresses, port in postgresql.conf) and that no firewall is in the way"
        case .authMechanismRequiresPassword:
            return "the server at \(address.host):\(address.port) asks user \(address.user) for a password; set PGPASSWORD (or put it in the URL)"
        case .sslUnsupported:
            return "the server at \(address.host):\(address.port) does not offer TLS; drop sslmode=require or enable ssl on the server"
        default:
            return "\(psql.code): \(underlying)"
        }
    }

    /// Creates database `name` on the server of `address` (which names another database to
    /// connect to, such as postgres); tests and `make test` make throwaway catalogs this way.
    public static func createDatabase(_ name: String, server address: PostgresAddress) throws {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw CatalogError.database("\(name) is not a plain database name") }
        let admin = try PostgresCatalog(address: address)
        try admin.executeAlone("CREATE DATABASE \(name)")
    }
}

/// The catalog's statements on the store's connection, inside its transaction.
struct PostgresStatements: CatalogSQL {
    let catalog: PostgresCatalog

    func execute(_ sql: String, _ arguments: [CatalogValue]) throws {
        _ = try catalog.run(sql, arguments)
    }

    func query(_ sql: String, _ arguments: [CatalogValue]) throws -> [CatalogRow] {
        try catalog.run(sql, arguments).map { row in
            CatalogRow(columns: row.map { cell in (cell.columnName, Self.value(cell)) })
        }
    }

    static func value(_ cell: PostgresCell) -> CatalogValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8, .int4, .int2: return (try? cell.decode(Int64.self)).map { .integer($0) } ?? .null
        case .float8, .float4: return (try? cell.decode(Double.self)).map { .real($0) } ?? .null
        case .bool: return (try? cell.decode(Bool.self)).map { .boolean($0) } ?? .null
        case .bytea: return (try? cell.decode(ByteBuffer.self)).map { .blob(Data($0.readableBytesView)) } ?? .null
        case .numeric:
            // SUM() of bigint is numeric: an integer when it is one.
            guard let decimal = try? cell.decode(Decimal.self) else { return .null }
            let number = NSDecimalNumber(decimal: decimal)
            return decimal == Decimal(number.int64Value) ? .integer(number.int64Value) : .real(number.doubleValue)
        default: return (try? cell.decode(String.self)).map { .text($0) } ?? .null
        }
    }
}
