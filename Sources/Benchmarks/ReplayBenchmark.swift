import Engine
import Foundation
import Import
import Replay
import Trace
import Workload

/// Open-loop replay fidelity on the null backend, beside fio's iolog replay of the same requests:
/// lateness of each submission against its deadline, and how far the whole run drifted from the
/// recorded duration.
public struct ReplayBenchmark: Sendable {
    public struct Result: Sendable {
        public var iops: Double
        public var requests: Int
        public var recordedNs: UInt64
        public var replayedNs: UInt64
        public var latenessNs: (p50: UInt64, p99: UInt64, p999: UInt64)
        public var fioRuntimeMs: Double?
        public var vqtraceDrift: Double { Double(replayedNs) / Double(max(recordedNs, 1)) - 1 }
        public var fioDrift: Double? { fioRuntimeMs.map { $0 * 1e6 / Double(max(recordedNs, 1)) - 1 } }
    }

    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func run(iops: Double, seconds: Double, layout: String = "single", realtime: Bool = false) throws -> Result {
        let requests = Int(iops * seconds)
        let path = directory + "/replay-bench-\(Int(iops)).vqt"
        defer { unlink(path) }
        let writer = try TraceWriter(path: path, metadata: OLTPSample(requests: requests).metadata, options: .init(fsync: .none, replaceExisting: true))
        try OLTPSample(requests: requests, seed: 3, iops: iops, completions: false).run { try writer.append($0) }
        try writer.finish()
        var options = ReplayOptions()
        options.timing = .open
        let result = try ReplayRunner.run(tracePath: path, target: nil, layoutSpec: layout, backend: .null, options: options, safety: nil, realtime: realtime)
        let reader = try TraceReader(path: path)
        let recorded = reader.totals.lastSubmitNs - reader.totals.firstSubmitNs
        return Result(
            iops: iops, requests: requests, recordedNs: recorded, replayedNs: result.replayedNs,
            latenessNs: (result.lateness.valueAtPercentile(50), result.lateness.valueAtPercentile(99), result.lateness.valueAtPercentile(99.9)),
            fioRuntimeMs: try? fioReplay(tracePath: path))
    }

    /// Writes the trace as a fio v3 iolog (µs timestamps) and replays it with fio's null engine;
    /// returns fio's job runtime in ms.
    public func fioReplay(tracePath: String) throws -> Double? {
        let log = directory + "/replay-bench.iolog"
        defer { unlink(log) }
        _ = try FioIologExporter.export(tracePath: tracePath, out: log, fileNames: ["vqtrace.bin"], replaceExisting: true).written
        let job = try FioPeer.job(["--name=replay", "--ioengine=null", "--read_iolog=\(log)", "--size=200G"])
        return (job["job_runtime"] as? NSNumber)?.doubleValue
    }
}
