import ArgumentParser
import BlockBackend
import Demo
import Runs

/// `vqtrace demo`: the README's first command. Runs what exists end to end and says what is next.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the end-to-end demo on embedded defaults.",
        discussion: """
            The whole job on embedded defaults: writes requests of the OLTP model into \
            Traces/demo.vqt, catalogs, summarizes and verifies it; measures the virtqueue \
            core; generates a HammerDB-like OLTP trace (the oltp model on a 1 GiB device) \
            and sweeps it (io_uring, O_DIRECT) onto a temporary file under single, rr:2 and \
            per-vq, interleaved and repeated; and writes the comparison report to \
            Reports/demo.html, .md and .json.
            """)

    @Option(help: "Requests in the demo trace.")
    var requests: Int = 2_000_000

    // The same names as `vqtrace sweep`'s: --repeat and --report.
    @Option(name: .customLong("repeat"), help: "Rounds of the sweep (each replays every layout once).")
    var repeats: Int = 3

    @Option(name: .customLong("report"), help: "Where the report goes (Markdown and JSON next to it).")
    var reportPath: String = "Reports/demo.html"

    @Option(help: "Round trips for the virtqueue measurement.")
    var roundTrips: Int = 5_000_000

    func validate() throws {
        guard (1...100_000_000).contains(requests) else { throw ValidationError("--requests must be 1...100000000") }
        guard (1...100).contains(repeats) else { throw ValidationError("--repeat must be 1...100") }
        guard (1...1_000_000_000).contains(roundTrips) else { throw ValidationError("--round-trips must be 1...1000000000") }
    }

    @OptionGroup var catalog: TracesCommand.CatalogOption

    func run() throws {
        var demo = Demo()
        demo.requests = requests
        demo.repeats = repeats
        demo.roundTrips = roundTrips
        demo.reportPath = reportPath
        let reported = try demo.run(catalog: try catalog.open(), say: { print($0) }, shouldStop: Interrupt.shared.shouldStop,
                                    fillProgress: TargetFill.progressBar())
        guard reported.model != nil else {
            print(reported.outcome.description)
            if reported.outcome.interrupted { throw Interrupted() }
            throw SweepError(reported.outcome.description)
        }
    }
}
