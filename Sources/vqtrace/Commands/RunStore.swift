import Catalog
import Engine
import Foundation
import Replay
import Trace

/// Stores a replay's results in the catalog: the run row, its IOThreads, its vqs with latency
/// histograms, and completions per 100 ms. Shared by `replay` and `sweep`.
enum RunStore {
    /// The run row and its results, in the catalog.
    static func store(_ result: ReplayResult, in open: TraceCatalog, tracePath: String, traceId: Int64?, layoutSpec layout: String, backend: BackendKind,
                      target: String?, options: ReplayOptions, startedAt: String, sweepId: Int64? = nil) throws -> Int64 {
        let layoutObject: [String: Any] = [
            "iothreads": result.layout.iothreads.map { ["id": $0.id, "cpus": $0.cpus.map { $0.description as Any } ?? NSNull(), "poll_max_ns": $0.pollMaxNs.map { $0 as Any } ?? NSNull()] },
            "devices": result.layout.devices.map { ["name": $0.name, "assignment": $0.assignment] },
        ]
        let layoutJSON = try Format.json(layoutObject, pretty: false)
        let hostJSON = String(decoding: try JSONEncoder().encode(TraceMetadata.Host.current()), as: UTF8.self)
        let id = try open.insertRun(NewRun(traceId: traceId, tracePath: tracePath, layoutSpec: layout, layoutJSON: layoutJSON, backend: backend.rawValue,
                                           timing: options.timing.rawValue, speed: options.speed, target: target ?? "null", hostJSON: hostJSON,
                                           startedAt: startedAt, sweepId: sweepId, traceFingerprint: result.traceFingerprint))
        let seconds = result.engine.wallSeconds
        var summary: [String: Any] = [
            "requests": result.engine.requests, "replayed": result.replayed, "skipped": result.skipped, "seconds": seconds,
            "iops": Double(result.engine.requests) / seconds, "scheduled_ns": result.scheduledNs, "replayed_ns": result.replayedNs,
            "read": EngineBenchmark.fioDirection(result.engine.queues, read: true, seconds: seconds),
            "write": EngineBenchmark.fioDirection(result.engine.queues, read: false, seconds: seconds),
        ]
        if result.lateness.totalCount > 0 {
            summary["lateness_ns"] = ["p50": result.lateness.valueAtPercentile(50), "p99": result.lateness.valueAtPercentile(99),
                                      "p99.9": result.lateness.valueAtPercentile(99.9)]
        }
        let summaryJSON = try Format.json(summary, pretty: false)
        var timeline: [UInt64] = []
        for q in result.engine.queues {
            if timeline.count < q.timeline.count { timeline += Array(repeating: 0, count: q.timeline.count - timeline.count) }
            for (i, n) in q.timeline.enumerated() { timeline[i] += n }
        }
        let deviceIndex = Dictionary(uniqueKeysWithValues: result.layout.devices.enumerated().map { ($0.element.name, $0.offset) })
        let encoder = JSONEncoder()
        try open.finishRun(
            id, warning: result.warning, summaryJSON: summaryJSON,
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
            timeline: timeline, windowFromNs: options.fromNs > 0 ? Int64(options.fromNs) : nil,
            windowToNs: options.toNs == .max ? nil : Int64(options.toNs), vms: options.vms)
        return id
    }
}
