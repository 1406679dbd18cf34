import ArgumentParser
import Catalog
import Engine
import Foundation
import Layout
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
            catalogs, summarizes and verifies it; measures the virtqueue core; runs the
            engine (io_uring, O_DIRECT) on a temporary file under single, rr:2 and
            per-vq; and prints those layouts as QEMU fragments.
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
        print("\n3. the engine: 4 vCPU drivers (4 vqs), 4 KiB random reads at depth 16 each, io_uring + O_DIRECT on a temporary 256 MiB file, 1 s per layout")
        let file = NSTemporaryDirectory() + "vqtrace-demo-\(getpid()).img"
        defer { unlink(file) }
        for spec in ["single", "rr:2", "per-vq"] {
            let bench = EngineBenchmark(target: file, sizeBytes: 256 << 20, backend: .ioUring, vqs: 4, layoutSpec: spec, rw: .randread,
                                        blockSize: 4096, depth: 16, rwmixread: 100, seconds: 1, pin: .none, pollCompletions: false,
                                        merge: true, seed: 1)
            let (layout, run) = try bench.run()
            let cpu = run.iothreads.map { String(format: "%.0f%%", $0.cpuPercent) }.joined(separator: " ")
            let p99 = EngineBenchmark.merged(run.queues, read: true).valueAtPercentile(99)
            print("  \(spec.padding(toLength: 7, withPad: " ", startingAt: 0)) \(layout.iothreads.count) IOThread\(layout.iothreads.count == 1 ? " " : "s"): "
                  + String(format: "%8.0f IOPS", Double(run.requests) / run.wallSeconds) + ", p99 \(Format.duration(p99)), IOThread CPU \(cpu)")
        }
        print("  (one short run each on a shared 2-CPU machine: the sweep and report, with repeats and noise, come later)")

        print("\n4. the layouts as QEMU fragments:")
        for spec in ["single", "rr:2", "per-vq"] {
            let layout = try LayoutSpec.parse(spec, numQueues: 4)
            print("\n  \(spec):")
            for line in QEMULayoutFormat.emit(layout).split(separator: "\n") { print("    \(line)") }
        }
        print("\n  Any of them as libvirt XML: vqtrace mapping show rr:2 --num-queues 4 --format libvirt")
        print("  The trace again: vqtrace traces show demo   (all traces: vqtrace traces list)")
    }
}
