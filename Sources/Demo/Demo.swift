import Benchmarks
import BlockBackend
import Catalog
import Foundation
import Layout
import Replay
import Runs
import Trace
import Units
import Workload

/// The end-to-end demo on embedded defaults (`vqtrace demo`, the README's first command): a
/// trace of the OLTP model, catalogued, summarized and verified; the virtqueue core measured;
/// a HammerDB-like OLTP trace swept onto a temporary file under single, rr:2 and per-vq; the
/// comparison report. Everything it has to say goes through `say`.
public struct Demo: Sendable {
    /// Requests in the first trace.
    public var requests = 2_000_000
    /// Rounds of the sweep.
    public var repeats = 3
    /// Round trips of the virtqueue measurement.
    public var roundTrips = 5_000_000
    /// The report's HTML file (Markdown and JSON go next to it).
    public var reportPath = "Reports/demo.html"

    public init() {}

    /// The layouts the sweep compares.
    public static let layouts = ["single", "rr:2", "per-vq"]

    /// Runs it with traces next to `catalog`'s file. Returns the sweep and its report (nil
    /// model when the sweep stopped early).
    public func run(catalog: any CatalogStore, say: (String) -> Void, shouldStop: (@Sendable () -> Bool)? = nil,
                    fillProgress: TargetFill.ProgressHandler? = nil) throws -> Sweep.Reported {
        say("vqtrace demo")
        say("  trace → verify → virtqueue core → sweep \(Self.layouts.joined(separator: ", ")) → \(reportPath)\n")
        // Beside a SQLite catalog's file; with a shared catalog, in Traces/.
        let folder = (catalog as? TraceCatalog).map { ($0.path as NSString).deletingLastPathComponent } ?? "Traces"
        let tracePath = (folder as NSString).appendingPathComponent("demo.vqt")
        let start = Date()
        // The demo's own files: each run of the demo writes them again.
        let sample = OLTPSample(requests: requests)
        let writer = try TraceWriter(path: tracePath, metadata: sample.metadata, options: .init(replaceExisting: true))
        try sample.run { try writer.append($0) }
        let totals = try writer.finish()
        let trace = try catalog.register(tracePath: tracePath)
        say("1. trace: wrote \(totals.records) requests of the OLTP model to \(tracePath) in \(String(format: "%.2f", Date().timeIntervalSince(start))) s, catalogued as trace \(trace.id)")
        let reader = try TraceReader(path: tracePath)
        for line in try TraceOverview(reader: reader).lines { say(line) }
        let verification = reader.verify()
        say("  verify: \(verification.isClean ? "OK" : "DAMAGED"), \(verification.chunksGood) chunks, \(verification.recordsReadable) records readable\n")

        let ring = try VirtqueueRoundTripBenchmark(queueSize: 256, features: [.eventIndex])
        _ = try ring.run(roundTrips: roundTrips / 10 + 1)
        let result = try ring.run(roundTrips: roundTrips)
        say("2. virtqueue core: \(result.roundTrips) virtio-blk requests passed driver → device → driver, all completed OK")
        say("  ring cost: \(String(format: "%.2f", result.roundTripsPerSecond / 1e6)) M round trips/s on one thread")

        say("\n3. sweep: a HammerDB-like OLTP trace (model oltp: 8 vCPUs, 10 users, 3 s, 1 GiB device, checkpoints every second),")
        say("   replayed as fast as a depth of 16 per vq allows (io_uring, O_DIRECT) onto a temporary 1 GiB file, filled with data")
        say("   first, under \(Self.layouts.joined(separator: ", ")), \(repeats) rounds, interleaved:")
        let replayTrace = (folder as NSString).appendingPathComponent("demo-oltp.vqt")
        var workload = OLTPPreset.oltp.parameters
        workload.users = 10
        workload.durationSeconds = 3
        workload.capacityBytes = 1 << 30
        workload.checkpointIntervalSeconds = 1
        let (generated, summary) = try WorkloadModel.oltp(workload).write(to: replayTrace, options: .init(fsync: .none, replaceExisting: true))
        say("   (\(generated.records) requests;\(summary.first.map { $0.replacingOccurrences(of: "  ", with: " ") } ?? ""))")
        let file = NSTemporaryDirectory() + "vqtrace-demo-\(getpid()).img"
        defer { unlink(file) }
        var options = ReplayOptions()
        options.timing = .afap
        options.depth = 16
        var sweep = Sweep(tracePath: replayTrace, traceId: try catalog.register(tracePath: replayTrace).id, layouts: Self.layouts,
                          repeats: repeats, target: file, backend: .ioUring, options: options)
        sweep.isDemo = true
        let reported = try sweep.runAndReport(in: catalog, title: "Demo: which IOThread layout for an OLTP database?", htmlPath: reportPath,
                                              indent: "  ", say: say, shouldStop: shouldStop, fillProgress: fillProgress)
        guard let model = reported.model else { return reported }
        say("\n  \(model.answer.replacingOccurrences(of: "`", with: ""))")
        say("  report: " + reported.files.joined(separator: ", "))

        say("\n4. the layouts as QEMU fragments for the trace's 8-vCPU VM (8 virtqueues):")
        for spec in Self.layouts {
            say("\n  \(spec):")
            for line in QEMULayoutFormat.emit(try LayoutSpec.parse(spec, numQueues: 8)).split(separator: "\n") { say("    \(line)") }
        }
        say("\n  Any of them as libvirt XML: vqtrace mapping show rr:2 --num-queues 8 --format libvirt")
        say("  The trace again: vqtrace traces show demo   (all traces: vqtrace traces list)")
        return reported
    }
}
