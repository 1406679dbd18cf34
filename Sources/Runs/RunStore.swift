import Catalog
import Engine
import Foundation
import Layout
import Replay
import Trace

/// Stores a finished replay in the catalog: the run row with its summary, its IOThreads, its vqs
/// with latency histograms, and completions per 100 ms, in one transaction, with the host it
/// ran on (the catalog's host) and the model of the target's disk.
public enum RunStore {
    /// What a run replayed and how, beside its result.
    public struct Context: Sendable {
        public var tracePath: String
        public var traceId: Int64?
        public var layoutSpec: String
        public var backend: BackendKind
        public var target: String?
        public var options: ReplayOptions
        public var startedAt: String
        public var sweepId: Int64?

        public init(tracePath: String, traceId: Int64?, layoutSpec: String, backend: BackendKind, target: String?, options: ReplayOptions,
                    startedAt: String = ISO8601DateFormatter().string(from: Date()), sweepId: Int64? = nil) {
            self.tracePath = tracePath
            self.traceId = traceId
            self.layoutSpec = layoutSpec
            self.backend = backend
            self.target = target
            self.options = options
            self.startedAt = startedAt
            self.sweepId = sweepId
        }
    }

    /// Stores `result` and returns the run's id. An interrupted run is not a result: refused.
    @discardableResult
    public static func store(_ result: ReplayResult, _ context: Context, fidelity: Fidelity? = nil, in catalog: any CatalogStore) throws -> Int64 {
        precondition(!result.interrupted, "an interrupted run is not stored")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let options = context.options
        let run = NewRun(
            traceId: context.traceId, tracePath: context.tracePath, layoutSpec: context.layoutSpec,
            layoutJSON: try LayoutDocument(result.layout).encoded(), backend: result.backEnd ?? context.backend.rawValue,
            timing: options.timing.rawValue, speed: options.speed, target: context.target ?? "null",
            hostJSON: String(decoding: try encoder.encode(catalog.host.metadataHost), as: UTF8.self),
            startedAt: context.startedAt, sweepId: context.sweepId, traceFingerprint: result.traceFingerprint,
            targetModel: CatalogHost.deviceModel(of: context.backend == .null && result.backEnd == nil ? nil : context.target))
        var timeline: [UInt64] = []
        for q in result.engine.queues {
            if timeline.count < q.timeline.count { timeline += Array(repeating: 0, count: q.timeline.count - timeline.count) }
            for (i, n) in q.timeline.enumerated() { timeline[i] += n }
        }
        let deviceIndex = Dictionary(uniqueKeysWithValues: result.layout.devices.enumerated().map { ($0.element.name, $0.offset) })
        let results = RunResults(
            warning: result.warning, summaryJSON: try { var s = RunSummary(result); s.fidelity = fidelity; return try s.encoded() }(),
            iothreads: result.engine.iothreads.map {
                RunIOThreadRow(name: $0.name, requests: Int64($0.requests), passes: Int64($0.passes), kicks: Int64($0.kicks),
                               notifications: Int64($0.notifications), cpuPercent: $0.cpuPercent)
            },
            queues: try result.engine.queues.map { q in
                var h = q.readLatency
                h.add(q.writeLatency)
                return RunQueueRow(device: deviceIndex[q.device] ?? 0, vq: q.vq, requests: Int64(q.requests),
                                   bytes: Int64(q.bytesRead + q.bytesWritten), latencyHistogram: try encoder.encode(h))
            },
            timeline: timeline, windowFromNs: options.fromNs > 0 ? Int64(clamping: options.fromNs) : nil,
            windowToNs: options.toNs == .max ? nil : Int64(clamping: options.toNs), vms: options.vms)
        return try catalog.storeRun(run, results)
    }
}
