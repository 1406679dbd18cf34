import ArgumentParser
import BlockBackend
import Catalog
import Engine
import Foundation
import Layout
import Replay
import Trace

/// `vqtrace record`: a workload model run through the engine onto a real target, recorded as the
/// device saw it.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Run a workload model through the engine onto a target and record what the device saw.",
        discussion: """
            The model's requests go to each vCPU's driver at their modelled times (open loop); \
            a recorder tap in each IOThread stamps every request when the device pops it and \
            when it completes, and a collector thread (off the hot path: per-IOThread rings, no \
            locks) writes them, in submit order, into the trace. The trace keeps the model's \
            parameters, the layout, the backend and the target.

            Examples:
              vqtrace record --workload oltp --users 20 --duration 30s --capacity 4g --target /tmp/disk.img rr:2 --out Traces/rec.vqt
              vqtrace record --workload fio --rw randread --numjobs 4 --duration 10s --backend null --out Traces/null.vqt
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @OptionGroup var model: WorkloadOptions
    @Argument(help: "The IOThread layout.") var layout: String = "single"
    @Option(help: "The file or block device (not needed with --backend null).") var target: String?
    @Option(help: "Where requests go.") var backend: BackendKind = .ioUring
    @Option(help: "Requests in flight per vq at most.") var qd: Int = 64
    @Option(help: "The .vqt file to write.") var out: String
    @Flag(help: OutputFile.forceHelp) var force = false
    @OptionGroup var device: DeviceSafetyOptions
    @Flag(help: "Do not allocate a file target's whole capacity: fill only the byte ranges the model reads with data.") var sparseTarget = false
    @Flag(help: "Do not add the trace to the catalog.") var noCatalog = false

    func validate() throws {
        guard (1...1024).contains(qd) else { throw ValidationError("--qd must be 1...1024") }
        let queues = model.workload == .fio ? model.numjobs : model.vcpus
        if (1...1024).contains(queues) {
            do { _ = try LayoutSpec.parse(layout, numQueues: queues) } catch { throw ValidationError("invalid layout: \(error)") }
        }
        if backend != .null && target == nil { throw ValidationError("--backend \(backend.rawValue) needs --target FILE or DEVICE") }
    }

    func run() throws {
        try OutputFile.prepare(out, force: force)
        // The model's schedule first (a plain generate), then its replay, recorded.
        let schedule = out + ".schedule-\(getpid()).vqt"
        defer { unlink(schedule) }
        let (_, summary) = try model.generate(to: schedule, replaceExisting: true)
        var metadata = try TraceReader(path: schedule).metadata
        metadata.source = .init(kind: "synthetic", name: metadata.source.name + " recorded",
                                parameters: metadata.source.parameters.merging(["layout": layout, "backend": backend.rawValue, "target": target ?? "null"]) { $1 })
        metadata = TraceMetadata(devices: metadata.devices, source: metadata.source)
        let writer = try TraceWriter(path: out, metadata: metadata, options: .init(fsync: .close, replaceExisting: force))
        let sink = RecordingSink.writing(to: writer)
        var options = ReplayOptions()
        options.timing = .open
        options.depth = qd
        let progress = ReplayProgress(totalSeconds: model.duration.seconds, enabled: true)
        let result = try ReplayRunner.run(tracePath: schedule, target: target, layoutSpec: layout, backend: backend,
                                          options: options, safety: device.safety, sparseTarget: sparseTarget, recording: sink,
                                          fillProgress: progress.aroundFill(TargetPreparationOutput.fillProgress()))
        progress.finish()
        if let error = sink.error { throw error }
        let totals = try writer.finish()
        let seconds = result.engine.wallSeconds
        print("recorded \(out): \(totals.records) requests in \(String(format: "%.2f", seconds)) s (\(String(format: "%.0f", Double(totals.records) / seconds)) IOPS) under \(layout) on \(target ?? "the null backend")")
        for line in EngineBenchmark.summaryLines(result.engine.queues, seconds: seconds) { print(line) }
        for line in summary { print(line) }
        if sink.dropped > 0 || sink.reordered > 0 { print("  recorder: \(sink.dropped) dropped (a tap ring was full), \(sink.reordered) placed late") }
        if let warning = result.warning { print("  WARNING: \(warning)") }
        if !noCatalog { try catalog.registerAndSay(out) }
    }
}
