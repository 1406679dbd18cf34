import Foundation

/// The throwaway PostgreSQL server `make test` starts (Tests/postgres-test-server.sh), named by
/// VQTRACE_TEST_POSTGRES. Each test takes a database of its own, so tests run in parallel and
/// leave each other alone.
public enum TestPostgres {
    /// The server's URL (its `postgres` database), nil when no server was started.
    public static var url: String? {
        ProcessInfo.processInfo.environment["VQTRACE_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Why the PostgreSQL cases do not run, for the skipped test's comment.
    public static let missing = "VQTRACE_TEST_POSTGRES is not set: `make test` starts a throwaway PostgreSQL (Debian's postgresql) and sets it; the PostgreSQL cases of the catalog tests are skipped"

    private static let counter = NSLock()
    nonisolated(unsafe) private static var made = 0

    /// A new, empty database on the test server; returns its URL. Made with psql (the client
    /// Debian's postgresql brings), so that the code under test is not what sets up its test.
    public static func freshDatabase() throws -> String {
        guard let url else { throw TestPostgresError(missing) }
        counter.lock()
        made += 1
        let name = "vqt_\(getpid())_\(made)_\(UInt32.random(in: 0...UInt32.max))"
        counter.unlock()
        let result = try runChild("/usr/bin/psql", [url, "-qc", "CREATE DATABASE \(name)"], mergingStandardError: true)
        guard result.status == 0 else { throw TestPostgresError("CREATE DATABASE \(name) failed: \(result.text)") }
        return String(url[..<url.lastIndex(of: "/")!]) + "/\(name)"
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
