import ArgumentParser
import Catalog
import Engine
import Foundation
import Layout
import Replay
import Trace

/// `vqtrace demo`: the README's first command. Runs what exists end to end and says what is next.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the end-to-end demo on embedded defaults.",
        discussion: """
            The full demo will generate an OLTP (HammerDB-like) trace, replay it under
            the layouts single, rr:2 and per-vq on a temporary file, and write
            Reports/demo.html and Reports/demo.md. Until replay and reports land, it
            runs what exists: it writes an OLTP-shaped trace into Traces/demo.vqt,
            catalogs, summarizes and verifies it; measures the virtqueue core; replays a
            1 GiB-device version of the trace (io_uring, O_DIRECT) onto a temporary file
            under single, rr:2 and per-vq; and prints those layouts as QEMU fragments.
            """)

    @Option(help: "Requests in the demo trace.")
    var requests: Int = 2_000_000

    @Option(help: "Round trips for the virtqueue measurement.")
    var roundTrips: Int = 5_000_000

    @OptionGroup var catalog: TracesCommand.CatalogOption

    func run() throws {
        print("vqtrace demo")
        print("  planned: generate OLTP trace → replay under single, rr:2, per-vq → Reports/demo.html")
        print("  available now: traces (.vqt + catalog), the virtqueue core, the engine, IOThread layouts\n")

        let tracePath = ((catalog.catalog as NSString).deletingLastPathComponent as NSString).appendingPathComponent("demo.vqt")
        let start = Date()
        let totals = try TracesCommand.Synth.writeOLTPShape(
            out: tracePath, requests: requests, seed: 1, withCompletions: true, options: TraceWriterOptions(fsync: .close))
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
        print("\n3. replay: the OLTP-shaped stream again on a 1 GiB device, replayed as fast as a depth of 16 per vq allows")
        print("   (io_uring, O_DIRECT) onto a temporary 1 GiB file, under each layout; one short run each:")
        let replayTrace = ((catalog.catalog as NSString).deletingLastPathComponent as NSString).appendingPathComponent("demo-1g.vqt")
        _ = try TracesCommand.Synth.writeOLTPShape(out: replayTrace, requests: 300_000, seed: 2, withCompletions: true,
                                                   options: TraceWriterOptions(fsync: .none), capacitySectors: 1 << 21)
        try catalog.open().register(tracePath: replayTrace)
        let file = NSTemporaryDirectory() + "vqtrace-demo-\(getpid()).img"
        defer { unlink(file) }
        var options = ReplayOptions()
        options.timing = .afap
        options.depth = 16
        for spec in ["single", "rr:2", "per-vq"] {
            let result = try ReplayRunner.run(tracePath: replayTrace, target: file, layoutSpec: spec, backend: .ioUring, options: options, safety: nil)
            let run = result.engine
            let cpu = run.iothreads.map { String(format: "%.0f%%", $0.cpuPercent) }.joined(separator: " ")
            var latency = EngineBenchmark.merged(run.queues, read: true)
            latency.add(EngineBenchmark.merged(run.queues, read: false))
            print("  \(spec.padding(toLength: 7, withPad: " ", startingAt: 0)) \(result.layout.iothreads.count) IOThread\(result.layout.iothreads.count == 1 ? " " : "s"): "
                  + String(format: "%8.0f IOPS", Double(run.requests) / run.wallSeconds) + ", p99 \(Format.duration(latency.valueAtPercentile(99))), IOThread CPU \(cpu)")
        }
        print("  (the sweep with repeats, noise and a report comes next; try: vqtrace replay demo-1g --target /tmp/disk.img rr:2)")

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
