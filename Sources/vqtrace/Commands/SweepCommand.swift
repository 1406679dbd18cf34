import ArgumentParser
import BlockBackend
import Catalog
import Engine
import Foundation
import Layout
import Replay
import Runs
import VhostUser

/// `vqtrace sweep`: every layout, several times, interleaved; then the report.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Replay a trace under several layouts, repeatedly, and write the comparison report.",
        discussion: """
            Runs go in interleaved order (single, rr:2, per-vq, single, rr:2, …) so that a slow \
            drift of the machine hits every layout alike. Every run is stored in the catalog \
            with the sweep's id; the report (HTML with inline SVG charts, Markdown and JSON \
            next to it) answers which layout wins, by how much, and whether the difference is \
            larger than the noise, and ends with the QEMU and libvirt configuration to paste.

            Examples:
              vqtrace sweep Traces/oltp.vqt --target /tmp/disk.img --repeat 3
              vqtrace sweep oltp --layouts single,rr:2,rr:4,per-vq --target /dev/nvme1n1 --allow-writes
              vqtrace sweep oltp --backend null --timing afap --report Reports/null.html
              vqtrace sweep oltp --target /tmp/disk.img --layouts single --back-ends engine,serve,qsd --repeat 5
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Argument(help: "The trace: a .vqt path, a catalog id or a name.") var trace: String
    @Option(help: "Layouts to compare, comma-separated; the first (or single) is the baseline (default: single,rr:2,per-vq, less one the trace's vqs make a repeat of another).") var layouts: String?
    @Option(name: .customLong("repeat"), help: "Runs per layout.") var repeats: Int = 3
    @Option(help: "The file or block device to replay onto.") var target: String?
    @Option(help: "Where the engine's requests go (qemu-storage-daemon is not a backend here: --back-ends engine,qsd).") var backend: BackendKind = .ioUring
    @Option(help: "What serves each layout's runs, comma-separated; every layout runs on each, side by side in the report: engine (vqtrace's own IOThreads, the default), qsd (qemu-storage-daemon started on --target for each run: QEMU's own block layer; one IOThread under QEMU 7.2, so only layout single), serve (vqtrace serve in this process: the engine behind a real vhost-user session), vhost-user:SOCKET (a back-end you started that takes a new connection per run).") var backEnds: String = "engine"
    @Option(help: "When requests go.") var timing: ReplayOptions.Timing = .afap
    @Option(help: "Requests in flight per vq.") var qd: Int = 32
    @Option(help: "Time scale for open-loop timing.") var speed: Double = 1
    @Option(help: "VM counts to compare, comma-separated (1,8: the single-VM and the dense-host case); each count replays that many copies as separate devices.") var vms: String = "1"
    @Flag(name: .customLong("shared-iothreads"), help: "The copies share the layout's IOThreads.") var sharedIOThreads = false
    @OptionGroup var device: DeviceSafetyOptions
    @Flag(help: "Do not allocate a file target's whole capacity: fill only the byte ranges the trace reads with data.") var sparseTarget = false
    @Option(help: "The report's HTML file (Markdown and JSON go next to it).") var report: String = Sweep.defaultReportPath
    @Flag(help: "Replace the report's files even when they are not vqtrace reports.") var force = false
    @Option(help: "Record every run into this folder and compare it with the trace: the report gains each run's fidelity (see vqtrace compare).") var recordDir: String?
    @OptionGroup var vmHost: VMHostOption
    @OptionGroup var drivers: DriverThreadsOption

    /// The layouts named by --layouts, in order.
    var specs: [String] { (layouts ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

    /// The VM counts named by --vms, nil when one is not a count in 1...256.
    var vmCounts: [Int]? {
        let counts = vms.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0.map { (1...256).contains($0) } ?? false }) else { return nil }
        return counts.map { $0! }
    }

    func validate() throws {
        guard (1...100).contains(repeats) else { throw ValidationError("--repeat must be 1...100") }
        guard (1...1024).contains(qd) else { throw ValidationError("--qd must be 1...1024") }
        guard speed.isFinite && speed >= 0.001 && speed <= 1e6 else { throw ValidationError("--speed must be 0.001...1000000") }
        guard layouts == nil || !specs.isEmpty else { throw ValidationError("--layouts names no layout") }
        guard vmCounts != nil else { throw ValidationError("--vms must list VM counts in 1...256, comma-separated (1,8)") }
        if backend != .null && target == nil {
            throw ValidationError(backEnds == "engine" ? "--backend \(backend.rawValue) needs --target FILE or DEVICE" : "--back-ends \(backEnds) needs --target FILE or DEVICE (the engine, serve and qsd do I/O on it)")
        }
    }

    func run() throws {
        let resolved = try TracesCommand.resolve(trace, catalog: catalog)
        var options = ReplayOptions()
        options.timing = timing
        options.depth = qd
        options.speed = speed
        options.sharedIOThreads = sharedIOThreads
        options.driverThreads = drivers.value
        var sweep = Sweep(trace: resolved.location, traceId: resolved.catalogued?.id, layouts: layouts == nil ? Sweep.defaultLayouts(for: try resolved.location.open().metadata.devices) : specs, repeats: repeats, vmCounts: vmCounts!,
                          target: target, backend: backend, options: options, safety: device.safety, sparseTarget: sparseTarget)
        (sweep.recordDirectory, sweep.commandLine) = (recordDir, Array(CommandLine.arguments.dropFirst()))
        sweep.backEnds = try VhostUserBackEndChoice.parseList(backEnds)
        // Before the catalog is touched: layouts, options and the trace's shape.
        try sweep.check()
        let open = try catalog.open()
        if sweep.traceId == nil, let file = resolved.location.filePath { sweep.traceId = try open.register(tracePath: file).id }
        try Self.runAndReport(sweep, catalog: open, title: "Which IOThread layout for \(((resolved.location.filePath ?? resolved.catalogued?.name ?? "") as NSString).lastPathComponent)?",
                              report: report, vmHostCPUs: try vmHost.cpus(), force: force)
    }

    /// Runs `sweep` printing each stored run and the answer (`Sweep.runAndSay`).
    static func runAndReport(_ sweep: Sweep, catalog: any CatalogStore, title: String, report: String, vmHostCPUs: CPUSet?, indent: String = "", force: Bool = false) throws {
        try sweep.runAndSay(in: catalog, title: title, htmlPath: report, vmHostCPUs: vmHostCPUs, indent: indent, force: force, say: { print($0) },
                            shouldStop: Interrupt.shared.shouldStop, fillProgress: TargetFill.progressBar())
    }
}
