import ArgumentParser
import Catalog
import Compare
import Foundation
import Runs
import Trace
import Units
import Workload

/// `vqtrace traces`: the trace catalog (list, show, verify, rm, reindex, add) and a synthetic
/// OLTP-shaped trace for trying the format out.
struct TracesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traces",
        abstract: "List, inspect, verify and remove recorded traces (.vqt files and their SQLite catalog).",
        discussion: """
            A trace is a .vqt file: per-vq virtio-blk request streams in checksummed, \
            zstd-compressed chunks (docs/FORMAT.md). The catalog (default \
            Traces/catalog.sqlite) indexes the files and their chunks and keeps replay \
            results; it can always be rebuilt from the files with `vqtrace traces \
            reindex`. TRACE is a file path, a catalog id or a trace name.

            Examples:
              vqtrace traces synth --out Traces/oltp.vqt --requests 1000000
              vqtrace traces list
              vqtrace traces show oltp
              vqtrace traces verify Traces/oltp.vqt
              vqtrace traces show oltp --json | jq .requests_per_vq
            """,
        subcommands: [List.self, Show.self, Verify.self, Repair.self, Remove.self, Reindex.self, Add.self, Push.self, Pull.self, Synth.self])

    struct CatalogOption: ParsableArguments {
        // No default in the declaration: --help would print $VQTRACE_CATALOG, password and all.
        @Option(help: "The catalog: a SQLite file, or postgres://USER@HOST[:PORT]/DB shared by a fleet (default: $VQTRACE_CATALOG, else Traces/catalog.sqlite).")
        var catalog: String?
        @Option(help: "The host name this host's traces and runs carry in the catalog (default: the hostname).") var hostLabel: String?

        var location: CatalogLocation { get throws { try CatalogLocation(parsing: catalog ?? CatalogLocation.defaultValue) } }
        var host: CatalogHost { .current(label: hostLabel) }
        func validate() throws { do { _ = try flagged { try location } } catch let error as OptionError { throw error } catch { throw ValidationError("--catalog: \(error)") } }
        func open() throws -> any CatalogStore { try location.openShared(host: host) }

        /// Catalogs a trace just written and says so (and which earlier trace it replaced).
        func registerAndSay(_ path: String) throws { print(try open().register(tracePath: path).registration(in: try location.description)) }
    }

    /// Opens TRACE: a path to a file, else a catalog id or name (this host's file, or the catalog's copy).
    static func resolve(_ reference: String, catalog: CatalogOption) throws -> ResolvedTrace {
        try catalog.location.resolve(reference, host: catalog.host)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the catalogued traces.")
        @OptionGroup var catalog: CatalogOption
        @Flag(help: "Print JSON for programs.") var json = false

        func run() throws {
            let traces = try catalog.open().traces()
            if json { return print(try TextFormat.json(traces)) }
            guard !traces.isEmpty else { return print("no traces in \(try catalog.location) (make one: vqtrace traces synth --out Traces/oltp.vqt)") }
            print(CatalogTrace.table(traces), terminator: "")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarize a trace: duration, requests per vq, mix, sizes, latency, IOPS over time.")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The trace: a .vqt path, a catalog id or a name.") var trace: String
        @Flag(help: "Print JSON for programs.") var json = false
        @Flag(help: "Also list every chunk (offset, records, time range, queues).") var chunks = false
        @Option(help: "Also write an HTML page with an LBA-against-time heat map per device and each vq's IOPS over time.") var html: String?
        @Flag(help: "Replace --html even when it is not a vqtrace page.") var force = false

        func run() throws {
            let reader = try TracesCommand.resolve(trace, catalog: catalog).location.open()
            if let html { try ComparisonPage.writeTracePage(reader, to: html, force: force) }
            let overview = try TraceOverview(reader: reader)
            if json { return print(try TextFormat.json(overview)) }
            for line in overview.lines { print(line) }
            if chunks { print(try TraceOverview.chunkTable(reader)) }
            if let html { print("  pictures: \(html)") }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every chunk of a trace (checksums, columns, index); report each bad chunk and what remains readable.",
            discussion: "A catalogued trace's row keeps the finding (traces list marks it DAMAGED). Exit status: 0 when the trace is intact, 1 when anything is wrong (the report says what and where).")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The trace: a .vqt path, a catalog id or a name.") var trace: String
        @Flag(help: "Print JSON for programs.") var json = false

        func run() throws {
            let resolved = try TracesCommand.resolve(trace, catalog: catalog)
            let result = try resolved.location.open().verify()
            if let id = resolved.catalogued?.id { try catalog.open().recordVerification(result, traceId: id) }
            print(json ? try TextFormat.json(result) : result.lines.joined(separator: "\n"))
            if !result.isClean { throw ExitCode(1) }
        }
    }

    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the readable records of a damaged or unfinished trace into a new, finished trace.",
            discussion: """
                Every chunk that checks out is copied, in order; damaged chunks are left out and \
                listed, and a trace whose writer was killed (NAME.vqt.partial) gets its trailer. \
                A damaged file header is rebuilt from the catalog's row of the trace. \
                The input is never changed. The output is catalogued unless --no-catalog.

                Examples:
                  vqtrace traces repair Traces/guest.vqt.partial --out Traces/guest.vqt
                  vqtrace traces repair Traces/flipped.vqt --out Traces/flipped-repaired.vqt
                """)
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The damaged or unfinished .vqt file.") var input: String
        @Option(help: "The finished trace to write.") var out: String
        @Flag(help: forceHelp) var force = false
        @Flag(help: "Do not add the repaired trace to the catalog.") var noCatalog = false

        func run() throws {
            try PartialFile.prepareOutput(out, replaceExisting: force)
            let metadata = try catalog.location.metadata(ofTrace: input, host: catalog.host)
            for line in try TraceRepair.repair(from: input, to: out, options: .init(replaceExisting: force), metadata: metadata).lines(input: input, out: out) { print(line) }
            if !noCatalog { try catalog.registerAndSay(out) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a trace from the catalog and delete its file (replay results stay).")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The trace: a catalog id, name or path.") var trace: String
        @Flag(help: "Only drop the catalog rows; leave the .vqt file.") var keepFile = false

        func run() throws { print(try catalog.open().remove(trace, keepFile: keepFile)) }
    }

    struct Reindex: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild the catalog's trace and chunk rows from the files.",
            discussion: "Reads every catalogued file again, adds every *.vqt in the catalog's folder (and --dir folders), and drops rows whose file is gone.")
        @OptionGroup var catalog: CatalogOption
        @Option(help: "Another folder to pick up *.vqt files from (repeatable).") var dir: [String] = []

        func run() throws {
            let report = try catalog.open().reindex(directories: (try catalog.location.folder.map { [$0] } ?? []) + dir)
            for line in report.lines { print(line) }
            if !report.failed.isEmpty { throw ExitCode(1) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add existing .vqt files to the catalog.")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The .vqt files.") var files: [String]

        func run() throws {
            let open = try catalog.open()
            for file in files {
                let t = try open.register(tracePath: file)
                print("catalogued \(t.path) as trace \(t.id) (\(t.name)): \(t.records) requests in \(t.chunkCount) chunks")
            }
        }
    }

    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a trace's chunks in the catalog itself, so that every host of a fleet can replay or pull it.",
            discussion: "Example: vqtrace traces push Traces/oltp.vqt --catalog postgres://vqtrace@db1/fleet")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The finished .vqt file.") var file: String

        func run() throws { print(try catalog.open().push(tracePath: file).line) }
    }

    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a pushed trace to a local .vqt file, byte for byte the file that was pushed.")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The trace: a catalog id or name.") var trace: String
        @Option(help: "The .vqt file to write.") var out: String
        @Flag(help: forceHelp) var force = false

        func run() throws {
            try PartialFile.prepareOutput(out, replaceExisting: force)
            let open = try catalog.open()
            let entry = try open.find(trace)
            print(CatalogPush.pulled(entry, to: out, try open.pull(traceId: entry.id, to: out, replaceExisting: force)))
        }
    }

    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a number of requests of the OLTP model (no I/O) to try traces out before recording real ones.",
            discussion: """
                The first --requests requests of the HammerDB-like oltp model (8 vCPUs, 50 \
                users; docs/WORKLOADS.md): on vq 0 the log writer (log writes, each group \
                followed by a FLUSH), on vq 1 the database writer (checkpoint bursts), on the \
                others the users' 8 KiB page reads and writes, on a 100 GiB device \
                (--capacity), with completion times. --iops scales the model's clock to that \
                mean rate (the requests and their order stay the model's). For a model run of \
                a given length and every parameter: `vqtrace generate`.
                """)
        @OptionGroup var catalog: CatalogOption
        @Option(help: "The .vqt file to write.") var out: String
        @Flag(help: forceHelp) var force = false
        @Option(help: "Requests to write.") var requests: Int = 1_000_000
        @Option(help: "Seed of the stream.") var seed: UInt64 = 1
        @Option(help: "Records per chunk (the unit of crash loss and window seeks).") var recordsPerChunk: Int = 65_536
        @Option(help: "When to fsync.") var fsync: TraceFsyncPolicy = .close
        @Flag(help: "Leave out completion times (as imported traces often do).") var noCompletions = false
        @Option(help: "Mean request rate: the model's clock is scaled to it (default: the model's own rate).") var iops: Double?
        @Option(help: "Device capacity (replays onto a file allocate this much).") var capacity: ByteSize = ByteSize(bytes: 100 << 30)
        @Flag(help: "Do not add the trace to the catalog.") var noCatalog = false

        /// Writes `sample` to `out`, with a progress bar on a TTY; stops at Ctrl-C (nothing is left).
        static func write(_ sample: OLTPSample, to out: String, options: TraceWriterOptions) throws -> TraceTotals {
            let progress = ProgressBar(total: sample.requests, label: "writing \(out)")
            defer { progress.finish() }
            return try sample.write(to: out, options: options, progress: progress.update, shouldStop: { Interrupt.shared.requested })
        }

        var sample: OLTPSample { OLTPSample(requests: requests, seed: seed, iops: iops, capacityBytes: capacity.bytes, completions: !noCompletions) }

        func validate() throws {
            guard (1...TraceFormat.maxChunkRecords).contains(recordsPerChunk) else {
                throw ValidationError("--records-per-chunk must be 1...\(TraceFormat.maxChunkRecords)")
            }
            try capacity.check("--capacity", atLeast: 2 << 20, multipleOf: 512)
            do { try sample.validate() } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            try PartialFile.prepareOutput(out, replaceExisting: force)
            let totals = try Self.write(sample, to: out, options: .init(recordsPerChunk: recordsPerChunk, fsync: fsync, replaceExisting: force))
            print("wrote \(out): \(totals.records) requests over \(TextFormat.duration(totals.lastSubmitNs - totals.firstSubmitNs))")
            if !noCatalog { try catalog.registerAndSay(out) }
        }
    }
}
