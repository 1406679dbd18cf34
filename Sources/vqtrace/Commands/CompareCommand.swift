import ArgumentParser
import Compare
import Foundation
import Trace
import Units

/// `vqtrace compare`: how faithful B is to A, stream by stream.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two traces of the same devices stream by stream: how faithful was this replay?",
        discussion: """
            A is the reference (a recording), B what came of it (the trace `replay --record` wrote). \
            Per vq and overall: the requests by type and whether both hold the same ones (type, \
            sector, length), the share B issued out of A's order (RFC 4737 Type-P-Reordered) and \
            the mean displacement, the IOPS per 100 ms bucket (mean absolute percentage error and \
            correlation), inter-arrival and latency distributions (p50, p99 and the \
            Kolmogorov-Smirnov distance), in-flight depth, and the spans. The first line answers. \
            Both traces are streamed once; memory is bounded.

            Examples:
              vqtrace compare Traces/guest.vqt Traces/guest-replayed.vqt
              vqtrace compare guest guest-replayed --json | jq .overall.iops_error
              vqtrace compare a.vqt b.vqt --html Reports/fidelity.html
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Argument(help: "The reference trace: a .vqt path, a catalog id or a name.") var a: String
    @Argument(help: "The trace compared with it.") var b: String
    @Flag(help: "Print JSON for programs.") var json = false
    @Option(help: "Also write an HTML page with the pictures (IOPS per vq, latency CDFs, LBA heat maps).") var html: String?
    @Flag(help: "Compare traces of different device capacities or vq counts, and replace --html even when it is not a vqtrace page.") var force = false

    func run() throws {
        let comparison = try ComparisonPage.compareAndWrite(
            TracesCommand.resolve(a, catalog: catalog).location.open(), TracesCommand.resolve(b, catalog: catalog).location.open(), html: html, force: force)
        print(json ? try TextFormat.json(comparison) : comparison.lines.joined(separator: "\n"))
        if let html, !json { print("  pictures: \(html)") }
    }
}
