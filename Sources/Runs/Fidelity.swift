import Compare
import Engine
import Foundation
import Replay
import Trace

/// How faithfully a run reproduced its trace, as a stored run keeps it: the comparison's first
/// line and its headline figures (from `TraceComparison` of the trace and the run's recording).
public struct Fidelity: Codable, Sendable, Equatable {
    public var answer: String
    public var iopsError: Double
    public var reorderedShare: Double
    public var latencyP50Ratio: Double?
    public var drift: Double
    public var sameRequests: Bool
    /// The recording it was measured on.
    public var recording: String

    enum CodingKeys: String, CodingKey {
        case answer, drift, recording, iopsError = "iops_error", reorderedShare = "reordered_share"
        case latencyP50Ratio = "latency_p50_ratio", sameRequests = "same_requests"
    }

    public init(_ c: Comparison, recording: String) {
        answer = c.answer
        iopsError = c.overall.iopsError
        reorderedShare = c.overall.reorderedShare
        latencyP50Ratio = c.overall.latencyP50Ratio
        drift = c.drift
        sameRequests = c.overall.sameRequests
        self.recording = recording
    }
}

/// A replay recorded into a trace as the device saw it, for fidelity: the writer and its sink.
public final class ReplayRecording: @unchecked Sendable {
    public let path: String
    public let writer: TraceWriter
    public let sink: RecordingSink

    /// Starts a recording of replays of `trace` (its devices once per copy) into `path`.
    public init(of trace: TraceLocation, into path: String, copies: Int, layout: String, backend: BackendKind, target: String?,
                replaceExisting: Bool = false) throws {
        let replayed = try trace.open().metadata
        self.path = path
        writer = try TraceWriter(path: path, metadata: .recording(of: replayed, copies: copies, layout: layout, backend: backend.rawValue, target: target),
                                 options: .init(replaceExisting: replaceExisting))
        sink = RecordingSink.writing(to: writer)
    }

    /// Finishes the trace; throws the sink's error if writing failed.
    @discardableResult
    public func finish() throws -> TraceTotals {
        if let error = sink.error {
            writer.abandon()
            throw error
        }
        return try writer.finish()
    }

    /// Drops the recording (an interrupted run): no file is left.
    public func abandon() { writer.abandon() }

    /// Finishes the recording of a replay of `trace` and, with `compare`, compares it with
    /// the trace: what `replay --record [--compare]` reports.
    public func finish(comparingWith trace: TraceLocation, compare: Bool) throws -> (figures: ReplayDocument.RecordingFigures, comparison: Comparison?) {
        let totals = try finish()
        let figures = ReplayDocument.RecordingFigures(path: path, records: totals.records, dropped: sink.dropped, reordered: sink.reordered)
        return (figures, compare ? try self.compare(with: trace) : nil)
    }

    /// The recording for a terminal: what it holds and the records it could not keep.
    public static func line(_ f: ReplayDocument.RecordingFigures) -> String {
        "  recorded \(f.records) requests as the device saw them into \(f.path)"
            + (f.dropped + f.reordered > 0 ? " (\(f.dropped) dropped: a recorder ring was full; \(f.reordered) placed late)" : "")
    }

    /// The finished recording against the trace it replayed.
    public func compare(with trace: TraceLocation) throws -> Comparison {
        try TraceComparison.compare(trace.open(), TraceReader(path: path))
    }
}
