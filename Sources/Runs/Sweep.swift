import BlockBackend
import Catalog
import Engine
import Foundation
import Layout
import Replay
import Report
import Trace
import VhostUser

/// A sweep: every layout (at every VM count) `repeats` times in interleaved order after one
/// warm-up run, each run stored under one sweep id, so that a slow drift of the machine hits
/// every layout alike.
///
/// Everything that can be checked is checked before the sweep row exists and before the first
/// run: every layout against the trace, the options, the target (prepared as the runs will need
/// it: created, filled with data, checked), the trace's chunks (damage is said once; every run
/// is marked). An interruption stops the run in progress, which is not stored; the runs already
/// stored stay, and the report of the sweep names what is missing.
public struct Sweep: Sendable {
    /// The trace: a file, or a trace a catalog holds (then only the window's chunks are fetched).
    public var trace: TraceLocation
    /// Its path (or catalog location), as the runs store it.
    public var tracePath: String { trace.description }
    /// The catalogued trace, when it is (its id goes into the sweep and run rows).
    public var traceId: Int64?
    /// The layouts; the first is the warm-up's.
    public var layouts: [String]
    public var repeats: Int
    public var vmCounts: [Int]
    public var target: String?
    public var backend: BackendKind
    /// Timing, depth, speed, window; `vms` is set per run from `vmCounts`.
    public var options: ReplayOptions
    public var safety: DeviceSafety
    public var sparseTarget: Bool
    /// Set by the demo, in the stored parameters.
    public var isDemo = false
    /// Record every stored run into this folder (sweepN-rROUND-LAYOUT.vqt) and compare it with
    /// the trace: each run then carries its fidelity, and the report shows it.
    public var recordDirectory: String?
    /// The command line that started the sweep (the words after the program's name), stored in
    /// the catalog so that a report can show how to run it again.
    public var commandLine: [String]?
    /// What serves each layout's runs: nil is the engine's own IOThreads; others are vhost-user
    /// back-ends (qemu-storage-daemon, serve in this process, a socket). Every layout runs on
    /// every back-end, in this order within a round, so the report puts them side by side.
    public var backEnds: [VhostUserBackEndChoice?] = [nil]

    public init(tracePath: String, traceId: Int64?, layouts: [String], repeats: Int, vmCounts: [Int] = [1], target: String?,
                backend: BackendKind, options: ReplayOptions, safety: DeviceSafety = DeviceSafety(), sparseTarget: Bool = false) {
        self.init(trace: .file(tracePath), traceId: traceId, layouts: layouts, repeats: repeats, vmCounts: vmCounts, target: target,
                  backend: backend, options: options, safety: safety, sparseTarget: sparseTarget)
    }

    /// A sweep of `trace`, a file or a catalog's copy.
    public init(trace: TraceLocation, traceId: Int64?, layouts: [String], repeats: Int, vmCounts: [Int] = [1], target: String?,
                backend: BackendKind, options: ReplayOptions, safety: DeviceSafety = DeviceSafety(), sparseTarget: Bool = false) {
        self.trace = trace
        self.traceId = traceId
        self.layouts = layouts
        self.repeats = repeats
        self.vmCounts = vmCounts
        self.target = target
        self.backend = backend
        self.options = options
        self.safety = safety
        self.sparseTarget = sparseTarget
    }

    /// What a sweep tells its caller as it goes (a CLI prints these; a program may log them).
    public enum Event: Sendable {
        /// The trace has one vq per device: every layout serves it with one IOThread.
        case oneQueuePerDevice
        /// Fewer runs per layout than a verdict needs (`RepeatEstimate.minimumRuns`).
        case fewRepeats(Int)
        /// Bad chunks found before the first run: every run skips them.
        case damagedTrace(badChunks: Int, recordsLost: UInt64, records: UInt64)
        /// The target was prepared before the first run.
        case targetPrepared(TargetPreparation)
        /// The sweep row exists; runs follow, the warm-up first.
        case started(sweepId: Int64, planned: Int)
        /// A run finished and was stored (with its fidelity when the sweep records).
        case stored(round: Int, configuration: String, result: ReplayResult, runId: Int64, fidelity: Fidelity?)
    }

    /// How a sweep ended: every run stored, or stopped early (interrupted, or a run failed) with
    /// the runs stored until then.
    public struct Outcome: Sendable {
        public var sweepId: Int64
        public var runIds: [Int64]
        public var planned: Int
        /// Why it stopped early, for people: "interrupted in round 2 during rr:2, which is not stored".
        public var stoppedEarly: String?
        public var interrupted: Bool
        public var isComplete: Bool { stoppedEarly == nil }

        /// One line: what was stored and where to look.
        public var description: String {
            let stored = "\(runIds.count) of \(planned) runs stored" + (runIds.isEmpty ? "" : " (runs \(runIds.map(String.init).joined(separator: ", ")))")
            guard let stoppedEarly else { return "sweep \(sweepId): \(stored)" }
            return "sweep \(sweepId) \(stoppedEarly): \(stored); `vqtrace report --sweep \(sweepId)` reports them and names what is missing"
        }
    }

    /// The configurations in run order within one round.
    var configurations: [(vms: Int, layout: String, backEnd: VhostUserBackEndChoice?)] {
        vmCounts.flatMap { vms in layouts.flatMap { layout in backEnds.map { (vms, layout, $0) } } }
    }

    /// Whether some runs go to a vhost-user back-end.
    var usesVhostUser: Bool { backEnds.contains { $0 != nil } }

    /// Checks the layouts and options against the trace (throws `ReplayError.usage`): every
    /// layout valid for the trace, and no layout named twice, under one spelling or two.
    public func check() throws {
        if backend == .qsd {
            throw ReplayError.usage("--backend qsd: a sweep names qemu-storage-daemon in --back-ends instead (--back-ends engine,qsd runs each layout on the engine and on qemu-storage-daemon, side by side); drop --backend qsd")
        }
        let devices = try trace.open().metadata.devices
        try Self.checkDistinct(layouts, devices: devices)
        if backEnds.isEmpty { throw ReplayError.usage("--back-ends names no back-end") }
        if usesVhostUser {
            if vmCounts != [1] { throw ReplayError.usage("--back-ends: a vhost-user back-end serves one device, so --vms must be 1, not \(vmCounts.map(String.init).joined(separator: ","))") }
            if recordDirectory != nil { throw ReplayError.usage("--record-dir keeps what the engine's IOThreads popped; a vhost-user back-end has its own (vqtrace serve --record records there)") }
            if backend == .null { throw ReplayError.usage("--back-ends \(backEnds.compactMap { $0?.label }.joined(separator: ",")): vhost-user back-ends do real I/O, which --backend null does not; drop --backend null") }
            if target == nil && backEnds.contains(where: { $0?.servesTarget == true }) {
                throw ReplayError.usage("--back-ends \(backEnds.compactMap { $0 }.filter(\.servesTarget).map(\.label).joined(separator: ",")) need --target FILE: they serve that file")
            }
            for case let choice? in backEnds {
                for spec in layouts {
                    try VhostUserReplayBackEnd.refuseInexpressible(choice, layout: try LayoutSpec.parse(spec, numQueues: Int(devices.first?.numQueues ?? 1)))
                }
            }
        }
        for vmCount in vmCounts {
            var checked = options
            checked.vms = vmCount
            try ReplayRunner.check(trace: trace, layoutSpecs: layouts, options: checked)
        }
    }

    /// What `vqtrace sweep` compares when no layouts are named.
    public static let defaultLayouts = ["single", "rr:2", "per-vq"]

    /// `defaultLayouts` less any that repeats an earlier one for `devices` (on 2 vqs per-vq is rr:2).
    public static func defaultLayouts(for devices: [TraceMetadata.Device]) -> [String] {
        defaultLayouts.reduce(into: []) { kept, spec in if (try? checkDistinct(kept + [spec], devices: devices)) != nil { kept.append(spec) } }
    }

    /// Refuses (a usage mistake) layouts that name one mapping twice: the same spelling, or two
    /// spellings that put the same vqs on the same IOThreads (`single` and `rr:1`; `per-vq` and
    /// `rr:4` on 4 vqs). A trace of one vq per device is the exception for different spellings:
    /// every layout serves it alike, which the sweep says (`oneQueuePerDevice`).
    public static func checkDistinct(_ layouts: [String], devices: [TraceMetadata.Device]) throws {
        var seen: [String] = []
        for spec in layouts {
            if seen.contains(spec) { throw ReplayError.usage("--layouts names a layout twice: \(spec); name each layout once") }
            seen.append(spec)
        }
        guard devices.contains(where: { $0.numQueues > 1 }) else { return }
        var shapes: [(spec: String, shape: [[String]])] = []
        for spec in layouts {
            // An invalid layout is for the replay's check to name.
            guard let shape = try? devices.map({ try mappingShape(LayoutSpec.parse(spec, numQueues: Int($0.numQueues))) }) else { continue }
            if let same = shapes.first(where: { $0.shape == shape }) {
                throw ReplayError.usage("--layouts names one mapping twice: \(same.spec) and \(spec) put the same vqs on the same IOThreads for this trace's "
                                        + "\(devices.map { "\($0.numQueues)" }.joined(separator: ", ")) vqs; name each layout once")
            }
            shapes.append((spec, shape))
        }
    }

    /// A layout of one device with the IOThreads' names left out: per IOThread in order of first
    /// use, its vqs, CPU set and poll-max-ns; unused IOThreads count too.
    static func mappingShape(_ layout: IOThreadLayout) -> [String] {
        let device = layout.devices[0]
        let order = device.assignment.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } } + device.iothreads.filter { !device.assignment.contains($0) }
        return order.map { id in
            let spec = layout.iothreads.first { $0.id == id }
            let vqs = device.assignment.indices.filter { device.assignment[$0] == id }.map(String.init).joined(separator: ",")
            return "[\(vqs)] cpus \(spec?.cpus.map { "\($0)" } ?? "-") poll \(spec?.pollMaxNs.map(String.init) ?? "-")"
        }
    }

    /// Runs the sweep; `events` hears about it as it goes, `shouldStop` can end it early (the
    /// run in progress is then not stored). Throws only before the sweep row exists (bad input,
    /// a refused target) or when the catalog fails; a run that fails ends the sweep with an
    /// outcome that says so.
    public func run(in catalog: any CatalogStore, events: (Event) -> Void = { _ in },
                    shouldStop: (@Sendable () -> Bool)? = nil, fillProgress: TargetFill.ProgressHandler? = nil) throws -> Outcome {
        try check()
        let reader = try trace.open()
        if repeats < RepeatEstimate.minimumRuns { events(.fewRepeats(repeats)) }
        if reader.metadata.devices.allSatisfy({ $0.numQueues == 1 }) { events(.oneQueuePerDevice) }
        // The chunks the runs replay, and only those: a trace read from a catalog is fetched
        // for its window alone, and damage outside the window costs the runs nothing.
        let damaged = reader.damagedChunks(in: reader.chunkRange(from: options.fromNs, to: options.toNs))
        if !damaged.isEmpty {
            events(.damagedTrace(badChunks: damaged.count, recordsLost: damaged.reduce(0) { $0 + $1.records }, records: reader.totals.records))
        }
        // A back-end someone else started is reached, and the trace checked against its device,
        // before the target is prepared or the sweep row exists.
        for case let choice? in backEnds {
            let layout = try LayoutSpec.parse(layouts[0], numQueues: Int(reader.metadata.devices.first?.numQueues ?? 1))
            do {
                try VhostUserReplayBackEnd.probe(choice, trace: reader.metadata, copies: 1, layout: layout)
            } catch {
                throw error.isUsage ? ReplayError.usage("--back-ends \(choice.label): \(error.description)") : ReplayError("--back-ends \(choice.label): \(error.description)")
            }
        }
        var prepared: TargetPreparation?
        if backend != .null, let target {
            prepared = try ReplayRunner.prepareTarget(trace: trace, target: target, options: options, safety: safety,
                                                      sparseTarget: sparseTarget, fillProgress: fillProgress, shouldStop: shouldStop)
            events(.targetPrepared(prepared!))
        }
        let parameters = SweepParameters(layouts: layouts, repeats: repeats, vms: vmCounts, queueDepth: options.depth, backend: backend.rawValue,
                                         timing: options.timing.rawValue, target: target ?? "null", speed: options.speed, demo: isDemo ? true : nil,
                                         commandLine: commandLine.map { (["vqtrace"] + $0).map(SweepPlan.shellQuoted).joined(separator: " ") },
                                         backEnds: usesVhostUser ? backEnds.map { $0?.label ?? SweepPlan.engineBackEnd } : nil)
        let sweepId = try catalog.createSweep(traceId: traceId, parametersJSON: try parameters.encoded(), traceFingerprint: reader.fingerprint)
        var outcome = Outcome(sweepId: sweepId, runIds: [], planned: repeats * configurations.count, stoppedEarly: nil, interrupted: false)
        events(.started(sweepId: sweepId, planned: outcome.planned))

        func replay(_ layout: String, vms: Int, on choice: VhostUserBackEndChoice? = nil, recording: ReplayRecording? = nil) throws -> ReplayResult {
            var options = options
            options.vms = vms
            // The back-end starts (and stops) with each run: nothing of one run's session is left for the next.
            let backEnd = try choice.map {
                try VhostUserReplayBackEnd.connect($0, trace: trace, layout: layout, target: target, options: options, safety: safety,
                                                   sparseTarget: sparseTarget, prepareTarget: false, fillProgress: fillProgress, shouldStop: shouldStop).backEnd
            }
            var result = try ReplayRunner.run(trace: trace, target: backEnd == nil ? target : nil, layoutSpec: layout, backend: backend, options: options,
                                              safety: safety, sparseTarget: sparseTarget, recording: recording?.sink, fillProgress: fillProgress,
                                              external: backEnd?.attachment, shouldStop: shouldStop)
            // A back-end vqtrace started served the target the sweep prepared; one someone else
            // started served its own disk.
            if case .socket(let path)? = choice { result.engine.targetPreparation = .backEnd(socket: path) }
            else if choice != nil, let prepared { result.engine.targetPreparation = prepared }
            return result
        }
        if let recordDirectory { try FileManager.default.createDirectory(atPath: recordDirectory, withIntermediateDirectories: true) }
        // One warm-up run, not stored: the first run otherwise pays for cold caches and would
        // count against whichever layout goes first.
        if try replay(layouts[0], vms: vmCounts[0]).interrupted {
            outcome.stoppedEarly = "interrupted during the warm-up"
            outcome.interrupted = true
            return outcome
        }
        for round in 1...repeats {
            for (vms, layout, choice) in configurations {
                let startedAt = ISO8601DateFormatter().string(from: Date())
                let label = SweepPlan.label(layout, vms: vms, backEnd: choice?.label)
                let recording = try recordDirectory.map { folder in
                    let name = "sweep\(sweepId)-r\(round)-\(String(layout.map { $0.isLetter || $0.isNumber ? $0 : "_" }))\(vms > 1 ? "-\(vms)vms" : "").vqt"
                    return try ReplayRecording(of: trace, into: (folder as NSString).appendingPathComponent(name), copies: vms,
                                               layout: layout, backend: backend, target: target, replaceExisting: true)
                }
                let result: ReplayResult
                do {
                    result = try replay(layout, vms: vms, on: choice, recording: recording)
                } catch let error as ReplayError where choice != nil {
                    // A back-end that does not start (or refuses) mid-sweep ends it like a failed run.
                    outcome.stoppedEarly = "stopped in round \(round): \(label) could not run (\(error.description)), and is not stored"
                    return outcome
                }
                if result.interrupted {
                    recording?.abandon()
                    outcome.stoppedEarly = "interrupted in round \(round) during \(label), which is not stored"
                    outcome.interrupted = true
                    return outcome
                }
                if !result.engine.failures.isEmpty {
                    outcome.stoppedEarly = "stopped in round \(round): \(label) failed (\(result.engine.failures.joined(separator: "; "))), and is not stored"
                    return outcome
                }
                var options = options
                options.vms = vms
                // Several copies make a recording of several devices: it is kept, not compared.
                var fidelity: Fidelity?
                if let recording {
                    try recording.finish()
                    if vms == 1 { fidelity = Fidelity(try recording.compare(with: trace), recording: recording.path) }
                }
                let id = try RunStore.store(result, RunStore.Context(tracePath: tracePath, traceId: traceId, layoutSpec: layout, backend: backend,
                                                                     target: target, options: options, startedAt: startedAt, sweepId: sweepId),
                                            fidelity: fidelity, in: catalog)
                outcome.runIds.append(id)
                events(.stored(round: round, configuration: label, result: result, runId: id, fidelity: fidelity))
            }
        }
        return outcome
    }
}
