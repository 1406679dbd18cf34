import Foundation

/// Where a shared catalog lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=require]`
/// (also `postgresql://`). A password can also come from PGPASSWORD, which keeps it out of
/// shell history; it is never printed: `description` leaves it out.
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// TLS with certificate verification (sslmode=require or verify-full); without it, plain TCP.
    public var requireTLS: Bool

    /// Whether `text` is a PostgreSQL URL rather than a file path.
    public static func isURL(_ text: String) -> Bool { text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") }

    /// Parses a URL; throws saying what is missing and what the form is.
    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let form = "the form is postgres://USER@HOST[:PORT]/DB"
        guard Self.isURL(text), let url = URLComponents(string: text) else {
            throw CatalogError.database("\"\(Self.redacted(text))\" is not a PostgreSQL URL; \(form)")
        }
        guard let host = url.host, !host.isEmpty else { throw CatalogError.database("\(Self.redacted(text)) names no host; \(form)") }
        guard let user = url.user, !user.isEmpty else {
            throw CatalogError.database("\(Self.redacted(text)) names no user; \(form) (the user must exist on the server)")
        }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw CatalogError.database("\(Self.redacted(text)) names no database; \(form)") }
        self.user = user.removingPercentEncoding ?? user
        password = url.password.map { $0.removingPercentEncoding ?? $0 } ?? environment["PGPASSWORD"]
        self.host = host
        port = url.port ?? 5432
        self.database = database
        let sslmode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "require", "verify-full"].contains(sslmode) else {
            throw CatalogError.database("sslmode=\(sslmode) is not one vqtrace knows: disable (the default), require or verify-full")
        }
        requireTLS = sslmode != "disable"
    }

    /// The URL without its password.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" + (requireTLS ? "?sslmode=require" : "") }

    /// `text` with any password replaced, for messages about a URL that did not parse.
    static func redacted(_ text: String) -> String {
        guard let at = text.firstIndex(of: "@"), let scheme = text.range(of: "://"),
              let colon = text[scheme.upperBound..<at].firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":…" + String(text[at...])
    }
}
