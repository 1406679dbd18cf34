import ArgumentParser
import Trace
import BlockBackend
import Engine
import Layout
import Runs
import Units

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
    @Flag(help: forceHelp) var force = false
    @OptionGroup var device: DeviceSafetyOptions
    @Flag(help: "Do not allocate a file target's whole capacity: fill only the byte ranges the model reads with data.") var sparseTarget = false
    @Flag(help: "Do not add the trace to the catalog.") var noCatalog = false
    @OptionGroup var drivers: DriverThreadsOption

    func validate() throws {
        guard (1...1024).contains(qd) else { throw ValidationError("--qd must be 1...1024") }
        let queues = model.workload == .fio ? model.numjobs : model.vcpus
        if (1...1024).contains(queues) {
            do { _ = try LayoutSpec.parse(layout, numQueues: queues) } catch { throw ValidationError("\(error)") }
        }
        if backend != .null && target == nil { throw ValidationError("--backend \(backend.rawValue) needs --target FILE or DEVICE") }
    }

    func run() throws {
        try PartialFile.prepareOutput(out, replaceExisting: force)
        var recording = ModelRecording(model: try model.model(), layout: layout, target: target, backend: backend, depth: qd)
        recording.safety = device.safety
        recording.sparseTarget = sparseTarget
        recording.driverThreads = drivers.value
        let progress = ClockProgressBar(seconds: model.duration.seconds, label: "recording")
        let outcome = try recording.record(to: out, replaceExisting: force, fillProgress: TargetFill.progressBar(pausing: progress),
                                           shouldStop: Interrupt.shared.shouldStop)
        progress.finish()
        guard let outcome else { throw Interrupted() }
        for line in ModelRecording.lines(outcome, out: out, layout: layout, target: target) { print(line) }
        if !noCatalog { try catalog.registerAndSay(out) }
    }
}
