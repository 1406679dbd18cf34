import BlockBackend
import Engine
import Foundation
import Replay
import Trace
import Units
import Workload

/// A workload model run through the engine onto a target, recorded as the device saw it (pop
/// and completion times, per vq): what `vqtrace record` does. The model's schedule is written
/// first (as `generate` would), then replayed open-loop at its modelled times with the
/// recorder's taps on.
public struct ModelRecording: Sendable {
    public var model: WorkloadModel
    public var layout: String
    public var target: String?
    public var backend: BackendKind
    /// Requests in flight per vq at most.
    public var depth: Int
    public var safety = DeviceSafety()
    public var sparseTarget = false
    /// OS threads for the vCPU drivers.
    public var driverThreads = DriverThreads.auto

    public init(model: WorkloadModel, layout: String, target: String?, backend: BackendKind, depth: Int) {
        self.model = model
        self.layout = layout
        self.target = target
        self.backend = backend
        self.depth = depth
    }

    /// What a recording made.
    public struct Outcome: Sendable {
        public var result: ReplayResult
        public var totals: TraceTotals
        /// The model's own summary lines (transactions per minute).
        public var summary: [String]
        /// Records a tap ring had no room for, and records placed after later ones.
        public var dropped: UInt64
        public var reordered: UInt64
    }

    /// Records into `out` (replacing a file there only with `replaceExisting`); an interrupted
    /// recording (`shouldStop`) leaves no file and returns nil.
    public func record(to out: String, replaceExisting: Bool = false, fillProgress: TargetFill.ProgressHandler? = nil,
                       shouldStop: (@Sendable () -> Bool)? = nil) throws -> Outcome? {
        let schedule = out + ".schedule-\(getpid()).vqt"
        defer { unlink(schedule) }
        let (_, summary) = try model.write(to: schedule, options: .init(fsync: .none, replaceExisting: true), shouldStop: shouldStop)
        let scheduled = try TraceReader(path: schedule).metadata
        let metadata = TraceMetadata(devices: scheduled.devices, source: .init(
            kind: "synthetic", name: scheduled.source.name + " recorded",
            parameters: scheduled.source.parameters.merging(["layout": layout, "backend": backend.rawValue, "target": target ?? "null"]) { $1 }))
        let writer = try TraceWriter(path: out, metadata: metadata, options: .init(fsync: .close, replaceExisting: replaceExisting))
        let sink = RecordingSink.writing(to: writer)
        var options = ReplayOptions()
        options.timing = .open
        options.depth = depth
        options.driverThreads = driverThreads
        let result = try ReplayRunner.run(tracePath: schedule, target: target, layoutSpec: layout, backend: backend, options: options,
                                          safety: safety, sparseTarget: sparseTarget, recording: sink, fillProgress: fillProgress,
                                          shouldStop: shouldStop)
        if result.interrupted {
            writer.abandon()
            return nil
        }
        if let error = sink.error { throw error }
        return Outcome(result: result, totals: try writer.finish(), summary: summary, dropped: sink.dropped, reordered: sink.reordered)
    }

    /// The recording for a terminal.
    public static func lines(_ o: Outcome, out: String, layout: String, target: String?) -> [String] {
        let seconds = o.result.engine.wallSeconds
        var lines = ["recorded \(out): \(o.totals.records) requests in \(String(format: "%.2f", seconds)) s "
                     + "(\(String(format: "%.0f", Double(o.totals.records) / seconds)) IOPS) under \(layout) on \(target ?? "the null backend")"]
        lines += EngineText.summaryLines(o.result.engine.queues, seconds: seconds)
        lines += o.summary
        if o.dropped > 0 || o.reordered > 0 { lines.append("  recorder: \(o.dropped) dropped (a tap ring was full), \(o.reordered) placed late") }
        if let warning = o.result.warning { lines.append("  WARNING: \(warning)") }
        return lines
    }
}
