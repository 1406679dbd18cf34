import ArgumentParser
import BlockBackend
import Catalog
import Engine
import Foundation
import Histogram
import Layout
import Replay
import Trace

/// `vqtrace replay`: a recorded trace through the engine under one IOThread layout.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a trace through the engine under an IOThread layout, onto a file or device.",
        discussion: """
            Each vq of the trace gets a vCPU driver thread that reads its own stream from the \
            trace; IOThreads serve the vqs as LAYOUT maps them (see `vqtrace mapping --help`).

            Timing: open (the default) issues each request at its recorded time divided by \
            --speed, against absolute deadlines, and records how late each one went; closed \
            keeps each vq's recorded in-flight depth (needs completion times); afap goes as \
            fast as --qd allows. When lateness p99 passes --lateness-warn the run says so \
            (and stores the warning): the host could not keep up, and the numbers measure \
            the replayer, not the layout.

            Targets: a file or a block device. A file that does not exist is created at the \
            trace's capacity (never past the filesystem's free space), marked as vqtrace's \
            and filled with data once, before anything is measured: holes and the unwritten \
            extents fallocate leaves read as zeros without touching the disk. Every run checks \
            the file again (FIEMAP) and fills what a DISCARD or WRITE_ZEROES left unwritten. \
            --sparse-target fills only the byte ranges the trace reads. An existing file \
            vqtrace did not create is the user's: a replay that writes, fills or grows it \
            needs --allow-writes, and one carrying a disk-image, partition or filesystem \
            signature also --destroy-data; a read-only replay of a file that holds data needs \
            neither. A block device is never a mounted or root disk; writes need \
            --allow-writes; one with a signature, or held by LVM/MD/dm, needs --destroy-data. \
            --writes skip|as-reads replays read-only. The output's "target" line says how the \
            target was prepared.

            Each run is stored in the catalog (layout, timing, host, per-IOThread and per-vq \
            statistics, latency histograms, IOPS per 100 ms) for reports.

            Examples:
              vqtrace replay Traces/demo.vqt --target /tmp/disk.img rr:2
              vqtrace replay demo --target /tmp/disk.img per-vq --timing afap --qd 64
              vqtrace replay demo --backend null single --speed 2 --from 1s --to 3s --json
              vqtrace replay demo --target /tmp/disk.img single --vms 8 --shared-iothreads
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption

    @Argument(help: "The trace: a .vqt path, a catalog id or a name.")
    var trace: String

    @Argument(help: "The IOThread layout: single, rr:N, per-vq, qemu:…, libvirt:….")
    var layout: String = "single"

    @Option(help: "The file or block device to replay onto (not needed with --backend null).")
    var target: String?

    @Option(help: "Where requests go.")
    var backend: BackendKind = .ioUring

    @Option(help: "When requests go.")
    var timing: ReplayOptions.Timing = .open

    @Option(help: "Time scale: 2 replays twice as fast.")
    var speed: Double = 1

    @Option(help: "Start of the window, from the trace's start (10s, 500ms).")
    var from: Duration?

    @Option(help: "End of the window, from the trace's start.")
    var to: Duration?

    @Option(help: "Only these vqs (a list such as 0,2-3).")
    var vqs: String?

    @Option(help: "Replay N copies as N devices (a dense host).")
    var vms: Int = 1

    @Flag(name: .customLong("shared-iothreads"), help: "The copies share the layout's IOThreads instead of getting their own.")
    var sharedIOThreads = false

    @Option(help: "Each copy starts up to this much later (seeded).")
    var jitter: Duration = Duration(seconds: 0.001)

    @Option(help: "Requests in flight per vq: the afap depth and the cap for the other timings.")
    var qd: Int = 32

    @Option(help: "What becomes of the trace's writes.")
    var writes: ReplayOptions.Writes = .asIs

    @OptionGroup var device: DeviceSafetyOptions

    @Flag(help: "Do not allocate a file target's whole capacity: grow it with holes and fill only the byte ranges the trace reads (in 1 MiB granules) with data.")
    var sparseTarget = false

    @Flag(help: "Run the vCPU drivers under SCHED_FIFO, so that deadlines are not queued behind other threads (needs root or RLIMIT_RTPRIO).")
    var realtime = false

    @Option(help: "Pin threads: auto, none or a CPU list.")
    var pin: String = "none"

    @Option(help: "Warn when open-loop lateness p99 is above this.")
    var latenessWarn: Duration = Duration(seconds: 0.001)

    @Option(help: "Seed of the copies' start offsets.")
    var seed: UInt64 = 1

    @Option(help: "Also record what the device saw (pop and completion times, per vq) into this .vqt file.")
    var record: String?

    @Flag(help: "Replace the --record file if it exists.")
    var force = false

    @Flag(help: "Do not store the run in the catalog.")
    var noCatalog = false

    @Flag(help: "Print fio-shaped JSON (plus lateness_ns and replay fields) for programs.")
    var json = false

    func validate() throws {
        guard speed.isFinite && speed >= 0.001 && speed <= 1e6 else { throw ValidationError("--speed must be 0.001...1000000") }
        guard (1...1024).contains(qd) else { throw ValidationError("--qd must be 1...1024") }
        guard (1...256).contains(vms) else { throw ValidationError("--vms must be 1...256") }
        try from?.check("--from", allowZero: true)
        try to?.check("--to")
        if let from, let to, to.seconds <= from.seconds { throw ValidationError("--to (\(to)) must be after --from (\(from))") }
        try jitter.check("--jitter", allowZero: true)
        try latenessWarn.check("--lateness-warn")
        if let vqs { _ = try CPUSet(parsing: vqs) }
        if backend != .null && target == nil { throw ValidationError("--backend \(backend.rawValue) needs --target FILE or DEVICE") }
        _ = try PinPolicy(parsing: pin)
    }

    func run() throws {
        let resolved = try TracesCommand.resolve(trace, catalog: catalog)
        let reader = try TraceReader(path: resolved.path)
        var options = ReplayOptions()
        options.timing = timing
        options.speed = speed
        let start = reader.totals.firstSubmitNs
        // Saturating: a window past the end of time is simply after the trace (check() says so).
        if let from { options.fromNs = start.addingReportingOverflow(from.nanoseconds).overflow ? .max - 1 : start + from.nanoseconds }
        if let to { options.toNs = start.addingReportingOverflow(to.nanoseconds).overflow ? .max : start + to.nanoseconds }
        if let vqs { options.vqs = Set(try CPUSet(parsing: vqs).cpus) }
        options.vms = vms
        options.sharedIOThreads = sharedIOThreads
        options.jitterNs = jitter.nanoseconds
        options.seed = seed
        options.writes = writes
        options.depth = qd
        options.latenessWarnNs = latenessWarn.nanoseconds
        try ReplayRunner.check(tracePath: resolved.path, layoutSpecs: [layout], options: options)

        let startedAt = ISO8601DateFormatter().string(from: Date())
        let progress = ReplayProgress(totalSeconds: Double((min(reader.totals.lastSubmitNs, options.toNs) - max(start, options.fromNs))) / 1e9 / speed,
                                      enabled: options.timing == .open && !json)
        var recorder: (sink: RecordingSink, writer: TraceWriter)?
        if let record {
            try OutputFile.prepare(record, force: force)
            let writer = try TraceWriter(path: record, metadata: TraceMetadata(
                devices: Array(repeating: reader.metadata.devices, count: options.vms).flatMap { $0 },
                source: .init(kind: reader.metadata.source.kind, name: reader.metadata.source.name + " replayed",
                              parameters: reader.metadata.source.parameters.merging(["layout": layout, "backend": backend.rawValue, "target": target ?? "null"]) { $1 })),
                options: .init(replaceExisting: force))
            let sink = RecordingSink.writing(to: writer)
            recorder = (sink, writer)
        }
        let result = try ReplayRunner.run(
            tracePath: resolved.path, target: target, layoutSpec: layout, backend: backend, options: options,
            safety: device.safety, pin: try PinPolicy(parsing: pin),
            sparseTarget: sparseTarget, realtime: realtime, recording: recorder?.sink,
            fillProgress: progress.aroundFill(TargetPreparationOutput.fillProgress(enabled: !json)), shouldStop: Interrupt.shared.shouldStop)
        progress.finish()
        if result.interrupted {
            // Part of a window is not a result: nothing is stored, the recording is dropped.
            recorder?.writer.abandon()
            print("replay interrupted after \(String(format: "%.1f", result.engine.wallSeconds)) s (\(result.engine.requests) requests completed); the run is not stored")
            throw Interrupted()
        }
        if let recorder {
            if let error = recorder.sink.error { throw error }
            let totals = try recorder.writer.finish()
            if !json { print("recorded \(totals.records) requests as the device saw them into \(record!)") }
        }
        let seconds = result.engine.wallSeconds

        var runId: Int64?
        if !noCatalog {
            runId = try RunStore.store(result, in: try catalog.open(), tracePath: resolved.path, traceId: resolved.catalogued?.id, layoutSpec: layout,
                                       backend: backend, target: target, options: options, startedAt: startedAt)
        }
        if json {
            var object: [String: Any] = [
                "fio version": "vqtrace", "trace": resolved.path, "layout": layout, "backend": backend.rawValue, "timing": options.timing.rawValue,
                "speed": speed, "target": target ?? NSNull(), "run_id": runId.map { $0 as Any } ?? NSNull(),
                "jobs": [[
                    "jobname": "vqtrace-replay",
                    "read": EngineBenchmark.fioDirection(result.engine.queues, read: true, seconds: seconds),
                    "write": EngineBenchmark.fioDirection(result.engine.queues, read: false, seconds: seconds),
                    "elapsed": seconds,
                ]],
                "iothreads": EngineBenchmark.iothreadsJSON(result.engine.iothreads),
                "vqs": EngineBenchmark.queuesJSON(result.engine.queues),
                "replayed": result.replayed, "skipped": result.skipped,
                "scheduled_ns": result.scheduledNs, "replayed_ns": result.replayedNs,
                "warning": result.warning ?? NSNull(), "failures": result.engine.failures, "trace_errors": result.traceErrors,
                "damaged_chunks": result.damagedChunks.map { ["chunk": $0.index, "records_lost": $0.records, "problem": $0.error.description] as [String: Any] },
                "target_preparation": TargetPreparationOutput.json(result.targetPreparation),
            ]
            if result.lateness.totalCount > 0 {
                object["lateness_ns"] = ["p50": result.lateness.valueAtPercentile(50), "p99": result.lateness.valueAtPercentile(99),
                                         "p99.9": result.lateness.valueAtPercentile(99.9), "max": result.lateness.max]
            }
            print(try Format.json(object))
        } else {
            print("replay \(resolved.path) under \(layout) (\(result.layout.iothreads.count) IOThread\(result.layout.iothreads.count == 1 ? "" : "s")), backend \(backend.rawValue)\(target.map { " on \($0)" } ?? ""), timing \(options.timing.rawValue)\(speed == 1 ? "" : " ×\(speed)")\(vms > 1 ? ", \(vms) copies" : "")")
            print("  \(result.targetPreparation.summary)")
            let drift = result.scheduledNs > 0 ? (Double(result.replayedNs) - Double(result.scheduledNs)) * 100 / Double(result.scheduledNs) : 0
            print("  \(result.replayed) requests replayed\(result.skipped > 0 ? ", \(result.skipped) left out" : "") in \(Format.duration(result.replayedNs))"
                  + (options.timing == .open ? String(format: " (scheduled %@, %+.2f%%)", Format.duration(result.scheduledNs), drift) : ""))
            for line in EngineBenchmark.summaryLines(result.engine.queues, seconds: seconds) { print(line) }
            if result.lateness.totalCount > 0 {
                print("  lateness: p50 \(Format.duration(result.lateness.valueAtPercentile(50)))  p99 \(Format.duration(result.lateness.valueAtPercentile(99)))  p99.9 \(Format.duration(result.lateness.valueAtPercentile(99.9)))  max \(Format.duration(result.lateness.max))")
            }
            print(EngineBenchmark.iothreadTable(result.engine.iothreads))
            if let warning = result.warning { print("  WARNING: \(warning)") }
            for failure in result.engine.failures { print("  FAILED: \(failure)") }
            for error in result.traceErrors { print("  TRACE: \(error)") }
            if let runId { print("  stored as run \(runId) in \(catalog.catalog)") }
        }
        if !result.engine.failures.isEmpty || !result.traceErrors.isEmpty { throw ExitCode(1) }
    }
}

/// A progress line on a TTY during an open-loop replay (its length is known in advance).
final class ReplayProgress: @unchecked Sendable {
    private let total: Double
    private let enabled: Bool
    private let stopped = NSCondition()
    private var done = false
    private var thread: Thread?
    // While the target is filled the fill's bar shows instead, and the replay's clock starts after.
    private var started = Date()
    private var filling = false

    init(totalSeconds: Double, enabled: Bool) {
        total = max(totalSeconds, 0.001)
        self.enabled = enabled && isatty(2) != 0
        guard self.enabled else { return }
        let progress = Progress(total: 1000, label: "replaying")
        thread = Thread { [self] in
            stopped.lock()
            while !done {
                if !filling { progress.update(min(1000, Int(Date().timeIntervalSince(started) / total * 1000))) }
                _ = stopped.wait(until: Date().addingTimeInterval(0.2))
            }
            stopped.unlock()
            progress.finish()
        }
        thread?.start()
    }

    /// `fill` wrapped so that this bar pauses while the target is filled and restarts after.
    func aroundFill(_ fill: TargetFill.ProgressHandler?) -> TargetFill.ProgressHandler? {
        guard let fill else { return nil }
        return { [self] p in
            stopped.lock()
            filling = p.bytesDone < p.bytesTotal
            if !filling { started = Date() }
            stopped.unlock()
            fill(p)
        }
    }

    func finish() {
        guard enabled else { return }
        stopped.lock()
        done = true
        stopped.broadcast()
        stopped.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }
}
