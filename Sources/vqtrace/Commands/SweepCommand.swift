import ArgumentParser
import BlockBackend
import Catalog
import Engine
import Foundation
import Replay
import Report
import Trace

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
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Argument(help: "The trace: a .vqt path, a catalog id or a name.") var trace: String
    @Option(help: "Layouts to compare, comma-separated; the first (or single) is the baseline.") var layouts: String = "single,rr:2,per-vq"
    @Option(name: .customLong("repeat"), help: "Runs per layout.") var repeats: Int = 3
    @Option(help: "The file or block device to replay onto.") var target: String?
    @Option(help: "Where requests go.") var backend: BackendKind = .ioUring
    @Option(help: "When requests go.") var timing: ReplayOptions.Timing = .afap
    @Option(help: "Requests in flight per vq.") var qd: Int = 32
    @Option(help: "Time scale for open-loop timing.") var speed: Double = 1
    @Option(help: "VM counts to compare, comma-separated (1,8: the single-VM and the dense-host case); each count replays that many copies as separate devices.") var vms: String = "1"
    @Flag(name: .customLong("shared-iothreads"), help: "The copies share the layout's IOThreads.") var sharedIOThreads = false
    @OptionGroup var device: DeviceSafetyOptions
    @Flag(help: "Do not allocate a file target's whole capacity: fill only the byte ranges the trace reads with data.") var sparseTarget = false
    @Option(help: "The report's HTML file (Markdown and JSON go next to it).") var report: String = "Reports/sweep.html"
    @OptionGroup var vmHost: ReportLoader.VMHostOption

    /// The layouts named by --layouts, in order.
    var specs: [String] { layouts.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

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
        guard !specs.isEmpty else { throw ValidationError("--layouts names no layout") }
        guard Set(specs).count == specs.count else { throw ValidationError("--layouts names a layout twice") }
        guard vmCounts != nil else { throw ValidationError("--vms must list VM counts in 1...256, comma-separated (1,8)") }
        if backend != .null && target == nil { throw ValidationError("--backend \(backend.rawValue) needs --target FILE or DEVICE") }
    }

    func run() throws {
        let specs = specs
        let vmCounts = vmCounts!
        let resolved = try TracesCommand.resolve(trace, catalog: catalog)
        var options = ReplayOptions()
        options.timing = timing
        options.depth = qd
        options.speed = speed
        options.sharedIOThreads = sharedIOThreads
        // Before the catalog is touched: layouts, options and the trace's shape.
        for vmCount in vmCounts {
            var checked = options
            checked.vms = vmCount
            try ReplayRunner.check(tracePath: resolved.path, layoutSpecs: specs, options: checked)
        }
        let open = try catalog.open()
        let traceId = try resolved.catalogued?.id ?? open.register(tracePath: resolved.path).id
        let parameters: [String: Any] = ["layouts": specs, "repeat": repeats, "backend": backend.rawValue, "timing": timing.rawValue, "qd": qd, "target": target ?? "null", "vms": vmCounts]
        let runIds = try SweepRunner.run(tracePath: resolved.path, traceId: traceId, specs: specs, repeats: repeats, target: target, backend: backend,
                                         options: options, safety: device.safety, sparseTarget: sparseTarget, catalog: open, parameters: parameters,
                                         vmCounts: vmCounts)
        var input = try ReportLoader.load(runIds: runIds, catalog: open, title: "Which IOThread layout for \((resolved.path as NSString).lastPathComponent)?", baseline: nil)
        input.vmHostCPUs = try vmHost.cpus()
        let model = try ReportModel(input)
        let files = try ReportLoader.write(model, htmlPath: report)
        print("\n\(model.answer.replacingOccurrences(of: "`", with: ""))")
        print("report: " + files.joined(separator: ", "))
    }
}

/// `vqtrace report`: a report from stored runs.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a comparison report from runs in the catalog (a sweep, or any runs).",
        discussion: """
            A sweep's report is checked against the sweep's plan (its layouts, --repeat and --vms): \
            when runs are missing or never finished (the sweep was interrupted or failed) the \
            report says which and recommends nothing. The answer's outcome is winner, \
            equivalent, inconclusive or incomplete; only the first two recommend a layout.

            Examples:
              vqtrace report --sweep 3 --out Reports/db1.html
              vqtrace report --sweep 3 --vm-host-cpus 8-11 --format md
              vqtrace report --runs 12,13,14,15 --format md
              vqtrace report --sweep 3 --format json | jq .outcome,.answer
            """)

    enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case html, md, json }

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Option(help: "The sweep whose runs to compare.") var sweep: Int64?
    @Option(help: "Run ids, comma-separated.") var runs: String?
    @Option(help: "html, md or json.") var format: ReportFormat = .html
    @Option(help: "Write here instead of standard output.") var out: String?
    @Option(help: "The baseline layout (default: single when present, else the first).") var baseline: String?
    @OptionGroup var vmHost: ReportLoader.VMHostOption

    /// The run ids of --runs, nil when one is not a number.
    var runIds: [Int64]? {
        guard let runs else { return nil }
        let ids = runs.split(separator: ",", omittingEmptySubsequences: false).map { Int64($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return ids.map { $0! }
    }

    func validate() throws {
        guard (sweep == nil) != (runs == nil) else { throw ValidationError("give --sweep ID or --runs ID,ID…") }
        if runs != nil && runIds == nil { throw ValidationError("--runs must list run ids (positive numbers), comma-separated: 12,13,14") }
    }

    func run() throws {
        let open = try catalog.open()
        let title = "IOThread layout comparison"
        var input: ReportInput
        if let sweep {
            // Every run row of the sweep, finished or not, against its plan: an interrupted sweep
            // reports what it is missing.
            input = try ReportLoader.load(sweepId: sweep, catalog: open, title: title, baseline: baseline)
        } else {
            input = try ReportLoader.load(runIds: runIds!, catalog: open, title: title, baseline: baseline)
        }
        input.vmHostCPUs = try vmHost.cpus()
        let model = try ReportModel(input)
        let text: String
        switch format {
        case .html: text = model.html()
        case .md: text = model.markdown()
        case .json: text = try Format.json(model.json())
        }
        if let out {
            try text.write(toFile: out, atomically: true, encoding: .utf8)
            print("wrote \(out)")
        } else {
            print(text, terminator: "")
        }
    }
}

/// The sweep itself, shared by `vqtrace sweep` and the demo: every layout `repeats` times in
/// interleaved order, each run stored under one sweep id. Returns the run ids.
///
/// Everything that can be checked is checked before the sweep row exists and before the first
/// run: every layout against the trace, the options, the target (opened as a run would open
/// it), the trace's chunks (damage is said once here; each run is marked). An interruption stops
/// the run in progress, which is not stored; the runs already stored stay, and the report of the
/// sweep names what is missing.
enum SweepRunner {
    static func run(tracePath: String, traceId: Int64?, specs: [String], repeats: Int, target: String?, backend kind: BackendKind,
                    options: ReplayOptions, safety: DeviceSafety, sparseTarget: Bool, catalog open: TraceCatalog, parameters: [String: Any],
                    vmCounts: [Int] = [1]) throws -> [Int64] {
        for vmCount in vmCounts {
            var checked = options
            checked.vms = vmCount
            try ReplayRunner.check(tracePath: tracePath, layoutSpecs: specs, options: checked)
        }
        let reader = try TraceReader(path: tracePath)
        if reader.metadata.devices.allSatisfy({ $0.numQueues == 1 }) {
            print("note: the trace has one vq per device, so every layout serves it with one IOThread: expect no difference between them")
        }
        let verification = reader.verify()
        if !verification.isClean {
            let lost = verification.badChunks.compactMap(\.recordsLost).reduce(0, +)
            print("trace \(tracePath) is damaged: \(verification.badChunks.count) bad chunk\(verification.badChunks.count == 1 ? "" : "s") (\(lost) of \(reader.totals.records) records); every run skips them and is marked")
        }
        if kind != .null, let target {
            // Prepared (created, filled, checked) as the runs will need it: a refused target ends
            // the sweep here, and the fill is done before the first run, not inside one.
            let preparation = try ReplayRunner.prepareTarget(tracePath: tracePath, target: target, options: options, safety: safety,
                                                             sparseTarget: sparseTarget, fillProgress: TargetPreparationOutput.fillProgress(),
                                                             shouldStop: Interrupt.shared.shouldStop)
            print(preparation.summary)
        }

        let sweepId = try open.createSweep(traceId: traceId, parametersJSON: try Format.json(parameters, pretty: false))
        let planned = repeats * vmCounts.count * specs.count
        print("sweep \(sweepId): \(specs.joined(separator: ", ")) × \(repeats) on \(target ?? "the null backend"), timing \(options.timing.rawValue), after one warm-up run")
        var runIds: [Int64] = []
        func stopped(_ what: String) -> String {
            "sweep \(sweepId) \(what): \(runIds.count) of \(planned) runs stored"
                + (runIds.isEmpty ? "" : " (runs \(runIds.map(String.init).joined(separator: ", ")))")
                + "; `vqtrace report --sweep \(sweepId)` reports them and names what is missing"
        }
        // One warm-up pass, not stored: the first run otherwise pays for cold caches and
        // a freshly allocated file, and would count against whichever layout goes first.
        let warmUp = try ReplayRunner.run(tracePath: tracePath, target: target, layoutSpec: specs[0], backend: kind, options: options,
                                          safety: safety, sparseTarget: sparseTarget, fillProgress: TargetPreparationOutput.fillProgress(),
                                          shouldStop: Interrupt.shared.shouldStop)
        if warmUp.interrupted {
            print(stopped("interrupted during the warm-up"))
            throw Interrupted()
        }
        for round in 1...repeats {
            for vmCount in vmCounts {
                for spec in specs {
                    var options = options
                    options.vms = vmCount
                    let startedAt = ISO8601DateFormatter().string(from: Date())
                    let result = try ReplayRunner.run(tracePath: tracePath, target: target, layoutSpec: spec, backend: kind, options: options,
                                                      safety: safety, sparseTarget: sparseTarget, shouldStop: Interrupt.shared.shouldStop)
                    let label = vmCount > 1 ? "\(spec) ×\(vmCount) VMs" : spec
                    if result.interrupted {
                        print(stopped("interrupted in round \(round) during \(label), which is not stored"))
                        throw Interrupted()
                    }
                    if !result.engine.failures.isEmpty {
                        throw SweepError(stopped("stopped in round \(round): \(label) failed (\(result.engine.failures.joined(separator: "; "))), and is not stored"))
                    }
                    let id = try RunStore.store(result, in: open, tracePath: tracePath, traceId: traceId, layoutSpec: spec, backend: kind,
                                                target: target, options: options, startedAt: startedAt, sweepId: sweepId)
                    runIds.append(id)
                    print("  round \(round)  \(label.padding(toLength: 16, withPad: " ", startingAt: 0))"
                          + String(format: "%9.0f IOPS  (run %lld)", Double(result.engine.requests) / result.engine.wallSeconds, id)
                          + (result.scheduleMissed ? "  WARNING: schedule not kept" : ""))
                }
            }
        }
        return runIds
    }
}

/// A sweep that could not finish (a run failed); the runs stored before it stay.
struct SweepError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
