import ArgumentParser
import BlockBackend
import Engine
import Foundation
import Layout
import Replay
import Runs
import Trace
import Units

/// `vqtrace replay`: a recorded trace through the engine under one IOThread layout.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a trace through the engine under an IOThread layout, onto a file or device.",
        discussion: """
            Each vq of the trace gets a vCPU driver with its own stream; --driver-threads threads serve them (auto: the CPUs the \
            IOThreads leave, each thread one timer for its vqs). IOThreads serve the vqs as LAYOUT maps them (see `vqtrace \
            mapping --help`).

            Timing: open (the default) issues each request at its recorded time divided by --speed, against absolute deadlines, \
            and records how late each one was when the device was told; closed keeps each vq's recorded in-flight depth (needs \
            completion times); think also waits each request's recorded gap after what it followed (a completion, or the \
            previous request), keeping the guest's idle time; afap goes as fast as --qd allows. When lateness p99 passes \
            --lateness-warn the run says so (and stores it; reports mark it): the host could not keep the schedule.

            Targets: a file or a block device. A file that does not exist is created at the trace's capacity (never past the \
            filesystem's free space), marked as vqtrace's and filled with data once, before anything is measured: holes and the \
            unwritten extents fallocate leaves read as zeros without touching the disk. Every run checks the file again (FIEMAP) \
            and fills what a DISCARD or WRITE_ZEROES left unwritten. --sparse-target fills only the byte ranges the trace reads. \
            An existing file vqtrace did not create is the user's: a replay that writes, fills or grows it needs --allow-writes, \
            and one carrying a disk-image, partition or filesystem signature also --destroy-data; a read-only replay of a file \
            that holds data needs neither. A block device is never a mounted or root disk; writes need --allow-writes; one with \
            a signature, or held by LVM/MD/dm, needs --destroy-data. --writes skip|as-reads replays read-only. The output's \
            "target" line says how the target was prepared.

            Latency (clat) runs from the kick that makes a request visible to the device until its driver reaps the completion \
            after the interrupt; lateness (open loop) is before it. Each run is stored in the catalog (layout, timing, host, \
            per-IOThread and per-vq statistics, latency histograms, IOPS per 100 ms) for reports.

            vhost-user: --vhost-user SOCKET makes vqtrace the front-end (QEMU's part) of a vhost-user-blk back-end that serves \
            its own disk; --backend qsd starts qemu-storage-daemon on --target (layout single: QEMU 7.2 runs an export in one \
            IOThread) and stops it after. A trace larger than the back-end's device, or with more vqs, is refused.

            Examples:
              vqtrace replay Traces/demo.vqt --target /tmp/disk.img rr:2
              vqtrace replay demo --target /tmp/disk.img per-vq --timing afap --qd 64
              vqtrace replay demo --backend null single --speed 2 --from 1s --to 3s --json
              vqtrace replay demo --target /tmp/disk.img single --vms 8 --shared-iothreads
              vqtrace replay demo --vhost-user /tmp/vhost.sock --timing afap      # into vqtrace serve, SPDK…
              vqtrace replay demo --backend qsd --target /tmp/disk.img single     # into qemu-storage-daemon
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Argument(help: "The trace: a .vqt path, a catalog id or a name.") var trace: String
    @Argument(help: "The IOThread layout: single, rr:N, per-vq, qemu:…, libvirt:….") var layout: String = "single"
    @Option(help: "The file or block device to replay onto (not needed with --backend null).") var target: String?
    @Option(help: "Where requests go (qsd: qemu-storage-daemon on --target, over vhost-user, layout single).") var backend: BackendKind = .ioUring
    @Option(help: "Replay into the vhost-user-blk back-end listening on this socket (vqtrace serve, qemu-storage-daemon, SPDK) instead of the engine's IOThreads.") var vhostUser: String?
    @Option(help: "When requests go.") var timing: ReplayOptions.Timing = .open
    @Option(help: "Time scale: 2 replays twice as fast.") var speed: Double = 1
    @Option(help: "Start of the window, from the trace's start (10s, 500ms).") var from: Duration?
    @Option(help: "End of the window, from the trace's start.") var to: Duration?
    @Option(help: "Only these vqs (a list such as 0,2-3).") var vqs: String?
    @Option(help: "Replay N copies as N devices (a dense host).") var vms: Int = 1
    @Flag(name: .customLong("shared-iothreads"), help: "The copies share the layout's IOThreads instead of getting their own.") var sharedIOThreads = false
    @Option(help: "Each copy starts up to this much later (seeded).") var jitter: Duration = Duration(seconds: 0.001)
    @Option(help: "Requests in flight per vq: the afap depth and the cap for the other timings.") var qd: Int = 32
    @Option(help: "What becomes of the trace's writes.") var writes: ReplayOptions.Writes = .asIs
    @OptionGroup var device: DeviceSafetyOptions
    @Flag(help: "Do not allocate a file target's whole capacity: grow it with holes and fill only the byte ranges the trace reads (in 1 MiB granules) with data.") var sparseTarget = false
    @Flag(help: "Run the vCPU drivers under SCHED_FIFO, so that deadlines are not queued behind other threads (needs root or RLIMIT_RTPRIO).") var realtime = false
    @Option(help: "Pin threads: auto, none or a CPU list.") var pin: String = "none"
    @OptionGroup var drivers: DriverThreadsOption
    @Option(help: "Warn when open-loop lateness p99 is above this.") var latenessWarn: Duration = Duration(seconds: 0.001)
    @Option(help: "Seed of the copies' start offsets.") var seed: UInt64 = 1
    @Option(help: "Also record what the device saw (pop and completion times, per vq) into this .vqt file.") var record: String?
    @Flag(help: "Replace the --record file if it exists.") var force = false
    @Flag(help: "With --record: compare the recording with the trace (vqtrace compare) and print how faithful the replay was.") var compare = false
    @Flag(help: "Replay a window that holds damaged chunks (refused otherwise): skip them, say once what was lost, mark the run.") var allowDamaged = false
    @Flag(help: "Do not store the run in the catalog.") var noCatalog = false
    @Flag(help: "Print fio-shaped JSON (plus lateness_ns and replay fields) for programs.") var json = false

    func validate() throws {
        guard speed.isFinite && speed >= 0.001 && speed <= 1e6 else { throw ValidationError("--speed must be 0.001...1000000") }
        guard (1...1024).contains(qd) else { throw ValidationError("--qd must be 1...1024") }
        guard (1...256).contains(vms) else { throw ValidationError("--vms must be 1...256") }
        try from?.check("--from", allowZero: true)
        try to?.check("--to")
        if let from, let to, to.seconds <= from.seconds { throw ValidationError("--to (\(to)) must be after --from (\(from))") }
        try jitter.check("--jitter", allowZero: true)
        try latenessWarn.check("--lateness-warn")
        if let vqs { do { _ = try CPUSet(parsing: vqs) } catch { throw OptionError(option: "--vqs", value: vqs, problem: "\(error)") } }
        if compare && record == nil { throw ValidationError("--compare needs --record FILE: it compares what the device saw with the trace") }
        if let vhostUser, target != nil || backend == .qsd { throw ValidationError("--vhost-user \(vhostUser) serves the back-end's own disk: drop --target and --backend qsd") }
        if backend != .null && target == nil && vhostUser == nil { throw ValidationError("--backend \(backend.rawValue) needs --target FILE or DEVICE") }
        _ = try PinPolicy(parsing: pin, option: "--pin")
    }

    func run() throws {
        let resolved = try TracesCommand.resolve(trace, catalog: catalog)
        let reader = try resolved.location.open()
        var options = ReplayOptions(timing: timing, speed: speed, vqs: try vqs.map { Set(try CPUSet(parsing: $0).cpus) }, vms: vms,
                                    sharedIOThreads: sharedIOThreads, jitterNs: jitter.nanoseconds, seed: seed, writes: writes, depth: qd,
                                    latenessWarnNs: latenessWarn.nanoseconds)
        let start = reader.totals.firstSubmitNs
        options.window(fromOffsetNs: from?.nanoseconds, toOffsetNs: to?.nanoseconds, traceStart: start)
        options.driverThreads = drivers.value
        var replay = ReplayInvocation(trace: resolved.location, traceId: resolved.catalogued?.id, layout: layout, backend: backend,
                                      target: target, options: options, safety: device.safety)
        replay.pin = try PinPolicy(parsing: pin, option: "--pin")
        replay.sparseTarget = sparseTarget
        replay.realtime = realtime
        replay.recordPath = record
        replay.replaceRecording = force
        replay.compare = compare
        replay.catalogSource = resolved.catalogSource
        replay.vhostUser = vhostUser.map { .socket($0) }
        replay.allowDamaged = allowDamaged
        try ReplayRunner.check(trace: resolved.location, layoutSpecs: [layout], options: options)  // before the window's length is taken
        let progress = ClockProgressBar(seconds: Double((min(reader.totals.lastSubmitNs, options.toNs) - max(start, options.fromNs))) / 1e9 / speed,
                                        label: "replaying", enabled: options.timing == .open && !json)
        let ran = try replay.run(storingIn: noCatalog ? nil : try catalog.open(), fillProgress: TargetFill.progressBar(enabled: !json, pausing: progress),
                                 shouldStop: Interrupt.shared.shouldStop)
        progress.finish()
        let outcome: ReplayInvocation.Outcome
        switch ran {
        case .success(let done): outcome = done
        case .failure(let stopped):
            print(stopped.description)
            throw Interrupted()
        }
        print(json ? try TextFormat.json(replay.document(outcome)) : replay.lines(outcome, catalogPath: try catalog.location.description).joined(separator: "\n"))
        if ReplayInvocation.failed(outcome) { throw ExitCode(1) }
    }
}
