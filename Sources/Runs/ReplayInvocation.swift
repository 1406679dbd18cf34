import BlockBackend
import Catalog
import Compare
import Engine
import Foundation
import Layout
import Replay
import Trace
import Units
import VhostUser

/// One replay as `vqtrace replay` makes it: the run, optionally recorded and compared with its
/// trace, then stored in the catalog. An interrupted run stores nothing and drops its recording.
public struct ReplayInvocation {
    /// The trace: a file, or a catalog's copy (`ResolvedTrace.location`).
    public var trace: TraceLocation
    public var tracePath: String { trace.description }
    public var traceId: Int64?
    public var layout: String
    public var backend: BackendKind
    public var target: String?
    public var options: ReplayOptions
    public var safety: DeviceSafety?
    public var pin: PinPolicy = .none
    public var sparseTarget = false
    public var realtime = false
    /// Record what the devices saw into this `.vqt` (prepared before the run).
    public var recordPath: String?
    public var replaceRecording = false
    /// With `recordPath`: compare the recording with the trace.
    public var compare = false
    /// The catalog's copy the trace is read from, when it is not a local file (its fetches are reported).
    public var catalogSource: CatalogTraceSource?
    /// A vhost-user-blk back-end serves the requests instead of the engine's IOThreads.
    public var vhostUser: VhostUserBackEndChoice?
    /// Replay a window that holds damaged chunks: they are skipped, said once, and the run is
    /// marked. Without it such a window is refused before the run.
    public var allowDamaged = false

    /// What a finished replay made.
    public struct Outcome {
        public var result: ReplayResult
        public var recording: ReplayDocument.RecordingFigures?
        public var comparison: Comparison?
        public var fidelity: Fidelity?
        /// The stored run, nil when it was not stored.
        public var runId: Int64?
    }

    public init(trace: TraceLocation, traceId: Int64?, layout: String, backend: BackendKind, target: String?, options: ReplayOptions,
                safety: DeviceSafety?) {
        self.trace = trace
        self.traceId = traceId
        self.layout = layout
        self.backend = backend
        self.target = target
        self.options = options
        self.safety = safety
    }

    /// Replays, records, compares and stores (into `catalog` when given); nil when `shouldStop`
    /// stopped it, with the seconds it ran and the requests it completed.
    public func run(storingIn catalog: (any CatalogStore)?, fillProgress: TargetFill.ProgressHandler? = nil,
                    shouldStop: (@Sendable () -> Bool)? = nil) throws -> Result<Outcome, Stopped> {
        try ReplayRunner.check(trace: trace, layoutSpecs: [layout], options: options)
        if !allowDamaged { try ReplayRunner.refuseDamage(in: trace, options: options) }
        let startedAt = ISO8601DateFormatter().string(from: Date())
        if recordPath != nil && (vhostUser != nil || backend == .qsd) {
            throw ReplayError.usage("--record keeps what the engine's IOThreads popped; a vhost-user back-end has its own (vqtrace serve --record records there)")
        }
        if let recordPath { try PartialFile.prepareOutput(recordPath, replaceExisting: replaceRecording) }
        // The back-end before the recording: a refused or unreachable one leaves no partial file.
        var preparation: TargetPreparation?
        let backEnd = try (vhostUser ?? (backend == .qsd ? .qemuStorageDaemon : nil)).map { try connect($0, preparation: &preparation, fillProgress: fillProgress, shouldStop: shouldStop) }
        let recording = try recordPath.map {
            try ReplayRecording(of: trace, into: $0, copies: options.vms, layout: layout, backend: backend, target: target,
                                replaceExisting: replaceRecording)
        }
        var result = try ReplayRunner.run(
            trace: trace, target: backEnd == nil ? target : nil, layoutSpec: layout, backend: backend, options: options, safety: safety, pin: pin,
            sparseTarget: sparseTarget, realtime: realtime, recording: recording?.sink, fillProgress: fillProgress,
            external: backEnd?.attachment, shouldStop: shouldStop)
        if let preparation { result.engine.targetPreparation = preparation }
        if result.interrupted {
            // Part of a window is not a result: nothing is stored, the recording is dropped.
            recording?.abandon()
            return .failure(Stopped(seconds: result.engine.wallSeconds, requests: result.engine.requests))
        }
        let recorded = try recording?.finish(comparingWith: trace, compare: compare)
        let fidelity = recorded?.comparison.map { Fidelity($0, recording: recordPath ?? "") }
        let runId = try catalog.map {
            try RunStore.store(result, RunStore.Context(tracePath: tracePath, traceId: traceId, layoutSpec: layout, backend: backend,
                                                        target: target, options: options, startedAt: startedAt), fidelity: fidelity, in: $0)
        }
        return .success(Outcome(result: result, recording: recorded?.figures, comparison: recorded?.comparison, fidelity: fidelity, runId: runId))
    }

    /// Connects to the vhost-user back-end, the target prepared first for one vqtrace starts.
    private func connect(_ choice: VhostUserBackEndChoice, preparation: inout TargetPreparation?, fillProgress: TargetFill.ProgressHandler?,
                         shouldStop: (@Sendable () -> Bool)?) throws -> VhostUserReplayBackEnd {
        let connected = try VhostUserReplayBackEnd.connect(choice, trace: trace, layout: layout, target: target, options: options, safety: safety, pin: pin,
                                                           sparseTarget: sparseTarget, prepareTarget: true, fillProgress: fillProgress, shouldStop: shouldStop)
        preparation = connected.preparation
        return connected.backEnd
    }

    /// A replay stopped before its end.
    public struct Stopped: Error, CustomStringConvertible {
        public var seconds: Double
        public var requests: UInt64
        public var description: String {
            "replay interrupted after \(String(format: "%.1f", seconds)) s (\(requests) requests completed); the run is not stored"
        }
    }

    /// `--json`: the fio-shaped document with the recording and fidelity.
    public func document(_ o: Outcome) -> ReplayDocument {
        var document = ReplayDocument(o.result, tracePath: tracePath, layout: layout, backend: backend, options: options, target: target, runId: o.runId)
        document.recording = o.recording
        document.fidelity = o.fidelity
        document.catalogChunksFetched = catalogSource?.chunksFetched
        return document
    }

    /// The outcome for a terminal; `catalogPath` names where a stored run went.
    public func lines(_ o: Outcome, catalogPath: String) -> [String] {
        var lines = ReplayText.lines(o.result, tracePath: tracePath, layout: layout, backend: backend, options: options, target: target)
        if let recording = o.recording { lines.append(ReplayRecording.line(recording)) }
        lines += (o.comparison?.lines ?? []).map { "  " + $0 }
        if let source = catalogSource { lines.append("  fetched \(source.chunksFetched) chunks (\(TextFormat.bytes(UInt64(max(0, source.bytesFetched))))) from the catalog") }
        if let runId = o.runId { lines.append("  stored as run \(runId) in \(catalogPath)") }
        return lines
    }

    /// Whether the run failed somewhere (a driver, the trace): the command's exit status.
    public static func failed(_ o: Outcome) -> Bool { !o.result.engine.failures.isEmpty || !o.result.traceErrors.isEmpty }
}
