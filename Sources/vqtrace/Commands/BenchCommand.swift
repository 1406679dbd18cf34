import ArgumentParser
import Benchmarks
import BlockBackend
import Engine
import Foundation
import Runs
import Units
import VhostUser

/// `vqtrace bench`: measures one component of the engine in isolation.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of an engine component.",
        discussion: """
            \(BenchmarkHelp.components)

            Examples:
              vqtrace bench --target /tmp/disk.img --size 1G --qd 32 --compare-fio --pairs 5
              vqtrace bench --target /tmp/disk.img --vqs 8 --rw randrw --bs 8k rr:2
              vqtrace bench --target /tmp/disk.img --back-ends engine,serve,qsd --compare-fio --rounds 5
              vqtrace bench --backend null --vqs 8 --qd 128 per-vq --json
              vqtrace bench --component virtqueue
              vqtrace bench --component virtqueue --round-trips 50000000 --event-idx --json
              vqtrace bench --component trace --requests 5000000
              vqtrace bench --component trace --window-requests 100000000 --dir /var/tmp
              vqtrace bench --component replay --duration 3s rr:2
              vqtrace bench --component import --requests 2000000 --repeats 1
              vqtrace bench --component catalog --catalog postgres://vqtrace@db1/bench --window-requests 100000000
            """)

    enum Component: String, ExpressibleByArgument, CaseIterable { case engine, virtqueue, trace, replay, `import`, catalog }

    @Option(help: "What to measure: \(Component.allCases.map(\.rawValue).joined(separator: ", ")) (default: engine when --target or --backend is given, else virtqueue).") var component: Component?
    @Argument(help: "engine: the IOThread layout (single, rr:N, per-vq, qemu:…, libvirt:…; see `vqtrace mapping --help`).") var layout: String = "single"
    @Option(help: "engine: the file or block device to do I/O on, with O_DIRECT. Not needed with --backend null. A new file is created at --size and filled with data before the run (reads of holes and unwritten extents never reach the disk); an existing file's holes and unwritten extents are filled too, which, like a pattern that writes, needs --allow-writes when vqtrace did not create the file (and --destroy-data when it carries a disk-image or filesystem signature). Devices: never a mounted or root disk; writes need --allow-writes; a signature or holders need --destroy-data.") var target: String?
    @Option(help: "engine: size of the target region (512, 4k, 1G, …).") var size: ByteSize = ByteSize(bytes: 1 << 30)
    @Option(help: "engine: where requests go; null completes them at once: the engine's own cost (qemu-storage-daemon is not a backend here: --back-ends qsd). (default: io_uring)") var backend: BackendKind?
    @Option(help: "engine: virtqueues (one vCPU driver thread each).") var vqs: Int = 1
    @Option(help: "engine: the access pattern (fio's names).") var rw: IOPatternKind = .randread
    @Option(help: "engine: block size.") var bs: ByteSize = ByteSize(bytes: 4096)
    @Option(help: "engine: requests in flight per vq.") var qd: Int = 32
    @Option(help: "engine: percentage of reads for randrw.") var rwmixread: Int = 50
    @Option(help: "engine: how long to run (10s, 500ms, 1m).") var duration: Duration = Duration(seconds: 10)
    @Option(help: "engine: pin threads: auto (IOThreads on the last CPUs, each vCPU driver thread beside the IOThread of its first vq: a kick or an interrupt across CPUs wakes an idle CPU, 200–400 µs on a VM), none, or a CPU list (IOThreads first, then drivers).") var pin: String = "auto"
    @Option(help: "engine: what serves the pattern, comma-separated: engine (vqtrace's own IOThreads, the default), serve (vqtrace serve in this process, over vhost-user), qsd (qemu-storage-daemon started on --target, cache.direct=on, aio=io_uring like the engine; layout single), vhost-user:SOCKET (a back-end you started). Two or more (or one with --compare-fio) run in --rounds interleaved rounds, with each one's median IOPS, latency and ratio to the first.") var backEnds: String?
    @Option(help: "engine: with --back-ends, interleaved rounds of every back-end (and fio, with --compare-fio).") var rounds: Int = 3
    @Flag(help: "engine: vCPU drivers poll for completions instead of sleeping on their irqfd.") var pollCompletions = false
    @Option(help: "engine: at most N requests per submission to the backend while an IOThread drains a vq, 0...32768 (like QEMU's IOThread aio-max-batch for aio=native); 0, the default, sends a pass's requests in one, as QEMU's virtio-blk does. On a virtual disk, requests submitted together come back together, so one submission per pass keeps a closed loop in lockstep: on a VM at QD32 on one vq (5 interleaved pairs) 0 reached 0.84× fio's IOPS, 8 0.88×, 2 0.99×, 1 (fio's own pattern) 0.97×. Keep 0 to measure what QEMU would do; try 1 or 2 to see what the disk can do. The engine's IOThreads only: refused with --back-ends serve, qsd or vhost-user and with components other than engine.") var submitBatch: Int = 0
    @Flag(help: "engine: do not merge adjacent requests of a pass into one I/O (QEMU merges by default).") var noMerge = false
    @OptionGroup var device: DeviceSafetyOptions
    @Flag(help: "replay: run the vCPU drivers under SCHED_FIFO (needs root or RLIMIT_RTPRIO).") var realtime = false
    @Option(help: "engine: seed of the pattern.") var seed: UInt64 = 1
    @OptionGroup var drivers: DriverThreadsOption
    @Option(help: "replay: busy-loop processes to run beside it (a host that is never idle).") var competingLoad: Int = 0
    @Flag(help: "engine: also run fio with the same pattern on the same file (io_uring, or null for --backend null) and print the ratio.") var compareFio = false
    @Option(help: "engine: with --compare-fio, this many interleaved pairs (vqtrace then fio, then fio then vqtrace, …) and their median ratio.") var pairs: Int = 1
    @Option(help: "Round trips to run (after a warm-up of 10%).") var roundTrips: Int = 20_000_000
    @Option(help: "Queue size Q (power of two, 2...32768).") var queueSize: Int = 256
    @Flag(help: "Negotiate VIRTIO_RING_F_EVENT_IDX (notification suppression by index).") var eventIdx = false
    @Flag(help: "Use indirect descriptor tables (VIRTIO_RING_F_INDIRECT_DESC).") var indirect = false
    @Option(help: "Repeat the measurement this many times and report each and the best.") var repeats: Int = 3
    @Option(help: "trace: requests in the size and speed stream.") var requests: Int = 5_000_000
    @Option(help: "trace: requests in the large trace for the window-seek measurement (0 skips it).") var windowRequests: Int = 0
    @Option(help: "trace: 1-second windows to seek to.") var windows: Int = 20
    @Option(help: "trace: folder for the temporary trace files.") var dir: String = NSTemporaryDirectory()
    @Option(help: "catalog: runs to store in each catalog.") var runs: Int = 200
    @Option(help: "catalog: a PostgreSQL catalog to measure beside SQLite (runs and a trace are added to it).") var catalog: String?
    @Flag(help: "Print JSON for programs instead of a table.") var json = false

    func run() throws {
        // The library's checks (usage mistakes, exit 2) before any measurement starts.
        try BenchmarkCounts(roundTrips: roundTrips, repeats: repeats, queueSize: queueSize, requests: requests, windowRequests: windowRequests,
                            windows: windows, competingLoad: competingLoad, runs: runs, pairs: pairs).check()
        try duration.check("--duration")
        try BenchmarkSettingError.require("--rounds", rounds, in: 1...100)
        let choices = try backEnds.map { try VhostUserBackEndChoice.parseList($0) }
        if choices != nil && resolvedComponent != .engine {
            throw BenchmarkSettingError("--back-ends runs the engine component's pattern; --component \(resolvedComponent.rawValue) has no back-end")
        }
        let roundsMode = (choices?.count ?? 0) > 1 || (choices != nil && compareFio)
        if roundsMode && pairs != 1 { throw BenchmarkSettingError("with --back-ends, --rounds sets how many interleaved rounds run (fio is one contender); --pairs is for the engine against fio alone") }
        if pairs != 1 && !compareFio && resolvedComponent == .engine {
            throw BenchmarkSettingError("--pairs \(pairs) runs the engine and fio \(pairs) times interleaved: add --compare-fio")
        }
        if submitBatch != 0 && resolvedComponent != .engine {
            throw BenchmarkSettingError("--submit-batch sets the engine's IOThreads; --component \(resolvedComponent.rawValue) runs none")
        }
        if backend == .qsd && choices != nil { throw BenchmarkSettingError("--backend qsd and --back-ends: drop --backend qsd and name qsd in --back-ends (engine,qsd)") }
        if resolvedComponent == .engine {
            for choice in choices ?? [nil] {
                var bench = try engineBenchmark()
                bench.backEnd = choice
                try bench.check()
            }
        }

        let report: BenchmarkReport
        switch resolvedComponent {
        case .engine:
            if let choices, roundsMode {
                report = try engineBenchmark().backEndReport(rounds: rounds, contenders: .init(backEnds: choices, fio: compareFio))
            } else {
                var bench = try engineBenchmark()
                bench.backEnd = choices?.first ?? nil
                report = compareFio && pairs > 1 ? try bench.pairedReport(pairs: pairs) : try bench.report(compareFio: compareFio)
            }
        case .virtqueue:
            var features: VirtioFeaturesOption = []
            if eventIdx { features.insert(.eventIndex) }
            if indirect { features.insert(.indirect) }
            report = try VirtqueueRoundTripBenchmark(queueSize: queueSize, features: features)
                .report(roundTrips: roundTrips, repeats: repeats, queueSize: queueSize, features: features)
        case .trace:
            report = try TraceCodecBenchmark(directory: dir).report(requests: requests, repeats: repeats, windowRequests: windowRequests, windows: windows)
        case .import:
            report = try ImportBenchmark(directory: dir).report(requests: requests, repeats: repeats)
        case .catalog:
            report = try CatalogBenchmark(directory: dir, postgres: catalog).report(runs: runs, windowRequests: windowRequests, windows: windows)
        case .replay:
            let settings: [DriverThreads] = drivers.text == "auto" ? [.auto, .perVQ] : [drivers.value]
            report = try ReplayBenchmark(directory: dir, competingLoad: competingLoad).report(seconds: duration.seconds, layout: layout, realtime: realtime, settings: settings)
        }
        print(json ? report.json : report.text)
        try Interrupt.shared.check()
        if report.failed { throw ExitCode(1) }
    }

    /// The engine measurement these options describe.
    func engineBenchmark() throws -> EngineBenchmark {
        var bench = EngineBenchmark(
            target: target, sizeBytes: size.bytes, backend: backend ?? .ioUring, vqs: vqs, layoutSpec: layout, rw: rw,
            blockSize: Int(clamping: bs.bytes), depth: qd, rwmixread: rwmixread, seconds: duration.seconds, pin: try PinPolicy(parsing: pin, option: "--pin"),
            pollCompletions: pollCompletions, merge: !noMerge, seed: seed, deviceSafety: device.safety)
        bench.fillProgress = TargetFill.progressBar(enabled: !json)
        bench.shouldStop = Interrupt.shared.shouldStop
        bench.driverThreads = drivers.value
        bench.submitBatch = submitBatch
        return bench
    }

    var resolvedComponent: Component { component ?? (target != nil || backend != nil || backEnds != nil ? .engine : .virtqueue) }
}
