import Foundation
import Synchronization
import Units

/// What a `--catalog` value names: a SQLite file (the embedded default) or a PostgreSQL URL
/// (a fleet's shared catalog). `VQTRACE_CATALOG` gives the default for every command.
public enum CatalogLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresAddress)

    /// The environment variable that names the catalog when `--catalog` is not given.
    public static let environmentVariable = "VQTRACE_CATALOG"
    /// The catalog when neither `--catalog` nor the environment names one.
    public static let defaultPath = "Traces/catalog.sqlite"

    /// `VQTRACE_CATALOG`, else Traces/catalog.sqlite.
    public static var defaultValue: String {
        ProcessInfo.processInfo.environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath
    }

    /// A URL is PostgreSQL; anything else is a file path.
    /// Another scheme (mysql://, sqlite://) is refused rather than taken for a file path.
    public init(parsing text: String) throws {
        if !PostgresAddress.isURL(text), let scheme = text.range(of: "://").map({ String(text[..<$0.lowerBound]) }),
           !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" })
        {
            throw OptionError(option: "catalog", value: text, problem: "\(scheme):// is not a catalog vqtrace opens: give a SQLite file path or postgres://USER@HOST[:PORT]/DB",
                              suggestion: OptionError.nearest(scheme, in: ["postgres", "postgresql"]).map { _ in "postgres" + text[text.range(of: "://")!.lowerBound...] })
        }
        self = PostgresAddress.isURL(text) ? .postgres(try PostgresAddress(parsing: text)) : .sqlite(path: text)
    }

    /// The path, or the URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let address): return address.description
        }
    }

    /// The folder a SQLite catalog lives in (where `reindex` looks for files); nil for PostgreSQL.
    public var folder: String? {
        guard case .sqlite(let path) = self else { return nil }
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    /// Whether the catalog is there already (a SQLite file that exists; a server is assumed to).
    public var exists: Bool {
        guard case .sqlite(let path) = self else { return true }
        return FileManager.default.fileExists(atPath: path)
    }

    /// The store of this location and host that this process opened before, else a new one:
    /// a command that resolves its trace and then stores its runs talks to one connection.
    public func openShared(host: CatalogHost = .current()) throws -> any CatalogStore {
        let key = "\(description)\u{0}\(host.name)"
        return try CatalogLocation.openStores.withLock { stores in
            if let store = stores[key] { return store }
            let store = try open(host: host)
            stores[key] = store
            return store
        }
    }

    private static let openStores = Mutex<[String: any CatalogStore]>([:])

    /// Opens the store, whose rows are `host`'s.
    public func open(host: CatalogHost = .current()) throws -> any CatalogStore {
        switch self {
        case .sqlite(let path): return try TraceCatalog(path: path, host: host)
        case .postgres(let address): return try PostgresCatalog(address: address, host: host)
        }
    }
}
