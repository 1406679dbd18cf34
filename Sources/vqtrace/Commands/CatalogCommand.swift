import ArgumentParser
import Catalog

/// `vqtrace catalog`: the catalog as a whole (copying a host's catalog into a fleet's).
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog", abstract: "Copy a catalog into another: a host's SQLite catalog into a fleet's shared PostgreSQL one.",
        subcommands: [Migrate.self])

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy every trace, sweep and run of one catalog into another (new ids there; hosts and results kept).",
            discussion: "Example: vqtrace catalog migrate --from Traces/catalog.sqlite --to postgres://vqtrace@db1/fleet --with-traces")
        @Option(help: ArgumentHelp("The catalog to copy: a SQLite file or a PostgreSQL URL.", valueName: "catalog")) var from: String
        @Option(help: ArgumentHelp("The catalog to copy into.", valueName: "catalog")) var to: String
        @Flag(help: "Also push the bytes of each trace whose file is on this host, so every host can replay it.") var withTraces = false
        @Option(help: "The host name this host's rows carry in the target (default: as they are, the hostname).") var hostLabel: String?

        func run() throws {
            let source = try CatalogLocation(parsing: from).open()
            let report = try CatalogCopy.copy(from: source, to: try CatalogLocation(parsing: to).open(), withTraces: withTraces, relabel: hostLabel)
            for line in report.lines { print(line) }
        }
    }
}
