import ArgumentParser
import Catalog
import Foundation
import Import
import Trace

/// `vqtrace import`: other trace formats into a .vqt trace.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a trace from another format (fio iolog v2/v3 for now) into a .vqt trace.",
        discussion: """
            fio iolog: each file becomes a device; requests go to --queues vqs round-robin or \
            by a hash of their offset; read, write, trim (discard) and sync/datasync (FLUSH). \
            An error names the line: FILE:LINE: what is wrong. Nothing half-written is kept \
            or catalogued.

            Examples:
              fio --name=db --filename=/tmp/f --rw=randrw --size=1g --write_iolog=db.log
              vqtrace import --format fio-iolog db.log --queues 4 --out Traces/db.vqt
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case fioIolog = "fio-iolog" }

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Option(help: "The input format: fio-iolog.") var format: Format = .fioIolog
    @Argument(help: "The file to import.") var file: String
    @Option(help: "The .vqt file to write.") var out: String
    @Option(help: "vqs per device.") var queues: Int = 1
    @Option(help: "round-robin or hash (of the offset).") var vqMap: String = "round-robin"
    @Option(help: "Device capacity (default: the largest offset seen, rounded up to 1 MiB).") var capacity: ByteSize?
    @Flag(help: "Skip bad lines (and count them) instead of stopping at the first.") var skipBadLines = false
    @Flag(help: "Do not add the trace to the catalog.") var noCatalog = false

    func run() throws {
        guard (1...1024).contains(queues) else { throw ValidationError("--queues must be 1...1024") }
        guard let map = FioIologImporter.VQMap(rawValue: vqMap) else { throw ValidationError("--vq-map must be round-robin or hash") }
        var importer = FioIologImporter()
        importer.queues = queues
        importer.vqMap = map
        importer.capacityBytes = capacity?.bytes
        importer.skipBadLines = skipBadLines
        let started = Date()
        let result = try importer.run(path: file, out: out)
        let seconds = Date().timeIntervalSince(started)
        print("imported \(file) (fio iolog, \(result.files.count) file\(result.files.count == 1 ? "" : "s")): \(result.totals.records) requests from \(result.lines) lines in \(String(format: "%.2f", seconds)) s (\(String(format: "%.0f", Double(result.lines) / max(seconds, 1e-9))) lines/s)"
              + (result.skippedLines > 0 ? ", \(result.skippedLines) bad lines skipped" : ""))
        if !noCatalog {
            let t = try catalog.open().register(tracePath: out)
            print("catalogued as trace \(t.id) (\(t.name)) in \(catalog.catalog)")
        }
    }
}

/// `vqtrace export`: a .vqt trace into another format.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a trace as a fio v3 iolog (fio --read_iolog replays it).",
        discussion: """
            One fio file per device (vqtrace-DEVICE.bin, or --file-names a,b,…), µs timestamps.

            Examples:
              vqtrace export Traces/db.vqt --format fio-iolog --out db.iolog
              fio --name=replay --read_iolog=db.iolog --ioengine=io_uring --direct=1
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Argument(help: "The trace: a .vqt path, a catalog id or a name.") var trace: String
    @Option(help: "The output format: fio-iolog.") var format: ImportCommand.Format = .fioIolog
    @Option(help: "The file to write.") var out: String
    @Option(help: "fio file names, comma-separated, one per device of the trace (default: vqtrace-DEVICE.bin).") var fileNames: String?

    func run() throws {
        let path = try TracesCommand.resolve(trace, catalog: catalog).path
        let written = try FioIologExporter.export(tracePath: path, out: out, fileNames: fileNames.map { $0.split(separator: ",").map(String.init) })
        print("exported \(written) requests to \(out) (fio v3 iolog)")
    }
}
