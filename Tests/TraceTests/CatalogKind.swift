import Catalog
import Foundation
import Testing
import TestSupport

/// The two catalog stores, for tests that run on each: SQLite always, PostgreSQL when the test
/// server is there (`make test` starts one; `TestPostgres`).
enum CatalogKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    /// The stores this run can test.
    static var available: [CatalogKind] { TestPostgres.url == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }

    /// The `--catalog` value of a new, empty catalog of this kind (a file in `dir` for SQLite).
    func freshLocation(_ dir: ScratchDirectory, name: String = "catalog") throws -> String {
        switch self {
        case .sqlite: return dir.file("\(name).sqlite")
        case .postgres: return try TestPostgres.freshDatabase()
        }
    }

    /// A new, empty catalog of this kind whose rows are `host`'s.
    func fresh(_ dir: ScratchDirectory, name: String = "catalog", host: CatalogHost = .current()) throws -> any CatalogStore {
        try CatalogLocation(parsing: freshLocation(dir, name: name)).open(host: host)
    }
}

@Suite("PostgreSQL for the catalog tests")
struct PostgresAvailability {
    @Test("the throwaway PostgreSQL server of make test is there", .enabled(if: TestPostgres.url != nil, Comment(rawValue: TestPostgres.missing)))
    func serverAnswers() throws {
        let dir = ScratchDirectory()
        let store = try CatalogKind.postgres.fresh(dir)
        #expect(try store.appliedMigrations().count == 6)
    }
}
