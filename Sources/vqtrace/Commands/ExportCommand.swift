import ArgumentParser
import Trace
import Import

/// `vqtrace export`: a .vqt trace into another format.
extension ExportFormat: ExpressibleByArgument {}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a trace as a fio v3 iolog, blkparse text or CSV.",
        discussion: """
            fio-iolog: one fio file per device (vqtrace-DEVICE.bin, or --file-names a,b,…), µs \
            timestamps; fio --read_iolog replays it. blkparse: Q and, where the trace has \
            completion times, C events in time order; device N is 252,16N and the CPU column is \
            the vq, so vqtrace import --format blkparse reads it back with its vqs. csv: \
            device,vq,type,sector,length,submit_ns,completion_ns,status with a header row. Requests \
            a format has no word for (WRITE_ZEROES in fio and blkparse) are left out and counted. \
            The file appears only when complete.

            Examples:
              vqtrace export Traces/db.vqt --format fio-iolog --out db.iolog
              fio --name=replay --read_iolog=db.iolog --ioengine=io_uring --direct=1
              vqtrace export Traces/db.vqt --format csv --out db.csv
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Argument(help: "The trace: a .vqt path, a catalog id or a name.") var trace: String
    @Option(help: "The output format.") var format: ExportFormat = .fioIolog
    @Option(help: "The file to write.") var out: String
    @Flag(help: "Replace the output file if it exists.") var force = false
    @Option(help: "fio file names, comma-separated, one per device of the trace (fio-iolog only; default: vqtrace-DEVICE.bin).") var fileNames: String?

    func validate() throws {
        if fileNames != nil && format != .fioIolog { throw ValidationError("--file-names applies to --format fio-iolog only") }
    }

    func run() throws {
        let path = try TracesCommand.resolve(trace, catalog: catalog).localPath()
        try PartialFile.prepareOutput(out, replaceExisting: force)
        let names = fileNames.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let result = try format.export(tracePath: path, out: out, fioFileNames: names, replaceExisting: force)
        print("exported \(result.written) requests to \(out) (\(format.rawValue))"
              + (result.leftOut > 0 ? "; \(result.leftOut) requests \(format.rawValue) cannot express were left out" : ""))
    }
}
