import ArgumentParser
import Catalog
import Engine
import Foundation
import Layout
import BlockBackend
import Replay
import Report
import Trace
import Workload

/// `vqtrace demo`: the README's first command. Runs what exists end to end and says what is next.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the end-to-end demo on embedded defaults.",
        discussion: """
            The whole job on embedded defaults: writes an OLTP-shaped trace into \
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
        print("vqtrace demo")
        print("  trace → verify → virtqueue core → sweep single, rr:2, per-vq → Reports/demo.html\n")

        let tracePath = ((catalog.catalog as NSString).deletingLastPathComponent as NSString).appendingPathComponent("demo.vqt")
        let start = Date()
        // The demo's own files: each run of the demo writes them again.
        try OutputFile.prepare(tracePath, force: true)
        let totals = try TracesCommand.Synth.writeOLTPShape(
            out: tracePath, requests: requests, seed: 1, withCompletions: true, options: TraceWriterOptions(fsync: .close, replaceExisting: true))
        let seconds = Date().timeIntervalSince(start)
        let trace = try catalog.open().register(tracePath: tracePath)
        print("1. trace: wrote \(totals.records) OLTP-shaped requests to \(tracePath) in \(String(format: "%.2f", seconds)) s, catalogued as trace \(trace.id)")
        try TracesCommand.Show.parse([tracePath, "--catalog", catalog.catalog]).run()
        let verification = try TraceReader(path: tracePath).verify()
        print("  verify: \(verification.isClean ? "OK" : "DAMAGED"), \(verification.chunksGood) chunks, \(verification.recordsReadable) records readable\n")

        let bench = try VirtqueueRoundTripBenchmark(queueSize: 256, features: [.eventIndex])
        _ = try bench.run(roundTrips: roundTrips / 10 + 1)
        let result = try bench.run(roundTrips: roundTrips)
        print("2. virtqueue core: \(result.roundTrips) virtio-blk requests passed driver → device → driver, all completed OK")
        print("  ring cost: \(String(format: "%.2f", result.roundTripsPerSecond / 1e6)) M round trips/s on one thread")
        print("\n3. sweep: a HammerDB-like OLTP trace (model oltp: 8 vCPUs, 10 users, 3 s, 1 GiB device, checkpoints every second),")
        print("   replayed as fast as a depth of 16 per vq allows (io_uring, O_DIRECT) onto a temporary 1 GiB file under single, rr:2")
        print("   and per-vq, \(repeats) rounds, interleaved:")
        let replayTrace = ((catalog.catalog as NSString).deletingLastPathComponent as NSString).appendingPathComponent("demo-oltp.vqt")
        var workload = OLTPPreset.oltp.parameters
        workload.users = 10
        workload.durationSeconds = 3
        workload.capacityBytes = 1 << 30
        workload.checkpointIntervalSeconds = 1
        let writer = try TraceWriter(path: replayTrace, metadata: OLTPGenerator.metadata(workload), options: TraceWriterOptions(fsync: .none, replaceExisting: true))
        var generator = try OLTPGenerator(workload)
        try generator.run { try writer.append($0) }
        let generated = try writer.finish()
        print(String(format: "   (%llu requests, %.0f transactions per minute in the model)", generated.records, Double(generator.transactions) / (workload.durationSeconds / 60)))
        let open = try catalog.open()
        let traceId = try open.register(tracePath: replayTrace).id
        let file = NSTemporaryDirectory() + "vqtrace-demo-\(getpid()).img"
        defer { unlink(file) }
        var options = ReplayOptions()
        options.timing = .afap
        options.depth = 16
        // The plan goes with the sweep, so that a report of an interrupted demo says what is missing.
        let specs = ["single", "rr:2", "per-vq"]
        let runIds = try SweepRunner.run(tracePath: replayTrace, traceId: traceId, specs: specs, repeats: repeats, target: file,
                                         backend: .ioUring, options: options, safety: DeviceSafety(), sparseTarget: false, catalog: open,
                                         parameters: ["demo": true, "layouts": specs, "repeat": repeats, "vms": [1], "qd": options.depth])
        let model = try ReportModel(ReportLoader.load(runIds: runIds, catalog: open, title: "Demo: which IOThread layout for an OLTP-shaped stream?", baseline: "single"))
        let files = try ReportLoader.write(model, htmlPath: reportPath)
        print("\n  \(model.answer.replacingOccurrences(of: "`", with: ""))")
        print("  report: " + files.joined(separator: ", "))

        print("\n4. the layouts as QEMU fragments for the trace's 8-vCPU VM (8 virtqueues):")
        for spec in ["single", "rr:2", "per-vq"] {
            let layout = try LayoutSpec.parse(spec, numQueues: 8)
            print("\n  \(spec):")
            for line in QEMULayoutFormat.emit(layout).split(separator: "\n") { print("    \(line)") }
        }
        print("\n  Any of them as libvirt XML: vqtrace mapping show rr:2 --num-queues 8 --format libvirt")
        print("  The trace again: vqtrace traces show demo   (all traces: vqtrace traces list)")
    }
}
