import Engine
import Foundation
import Import
import Replay
import Trace
import Workload

/// Open-loop replay fidelity on the null backend, beside fio's iolog replay of the same requests:
/// lateness of each submission against its deadline, and how far the whole run drifted from the
/// recorded duration, for each driver-thread setting in turn on the same trace.
public struct ReplayBenchmark: Sendable {
    public struct Result: Sendable {
        public var iops: Double
        public var driverThreads: DriverThreads
        /// The driver threads the setting made.
        public var threads: Int
        public var requests: Int
        public var recordedNs: UInt64
        public var replayedNs: UInt64
        public var latenessNs: (p50: UInt64, p99: UInt64, p999: UInt64)
        public var vqtraceDrift: Double { Double(replayedNs) / Double(max(recordedNs, 1)) - 1 }
    }

    public let directory: String
    /// Busy-loop processes that run beside every measurement (a host that is never idle).
    public var competingLoad = 0

    public init(directory: String, competingLoad: Int = 0) {
        self.directory = directory
        self.competingLoad = competingLoad
    }

    /// Writes the OLTP model's 8-vq stream at `iops` for `seconds` into a scratch trace.
    public func writeTrace(iops: Double, seconds: Double) throws -> String {
        let requests = Int(iops * seconds)
        let path = directory + "/replay-bench-\(getpid())-\(Int(iops)).vqt"
        let writer = try TraceWriter(path: path, metadata: OLTPSample(requests: requests).metadata, options: .init(fsync: .none, replaceExisting: true))
        try OLTPSample(requests: requests, seed: 3, iops: iops, completions: false).run { try writer.append($0) }
        try writer.finish()
        return path
    }

    /// Replays `path` open loop on the null backend.
    public func run(tracePath path: String, iops: Double, layout: String = "single", driverThreads: DriverThreads = .auto,
                    realtime: Bool = false) throws -> Result {
        var options = ReplayOptions()
        options.timing = .open
        options.driverThreads = driverThreads
        let result = try ReplayRunner.run(tracePath: path, target: nil, layoutSpec: layout, backend: .null, options: options, safety: nil, realtime: realtime)
        let reader = try TraceReader(path: path)
        return Result(
            iops: iops, driverThreads: driverThreads, threads: result.engine.driverThreads, requests: Int(reader.totals.records),
            recordedNs: reader.totals.lastSubmitNs - reader.totals.firstSubmitNs, replayedNs: result.replayedNs,
            latenessNs: (result.lateness.valueAtPercentile(50), result.lateness.valueAtPercentile(99), result.lateness.valueAtPercentile(99.9)))
    }

    /// Writes the trace as a fio v3 iolog (µs timestamps) and replays it with fio's null engine;
    /// returns fio's job runtime in ms.
    public func fioReplay(tracePath: String) throws -> Double? {
        let log = directory + "/replay-bench-\(getpid()).iolog"
        defer { unlink(log) }
        _ = try FioIologExporter.export(tracePath: tracePath, out: log, fileNames: ["vqtrace.bin"], replaceExisting: true).written
        let job = try FioPeer.job(["--name=replay", "--ioengine=null", "--read_iolog=\(log)", "--size=200G"])
        return (job["job_runtime"] as? NSNumber)?.doubleValue
    }

    /// Starts `competingLoad` shell busy loops; the returned processes are stopped by `stopLoad`.
    func startLoad() throws -> [Process] {
        try (0..<competingLoad).map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "while :; do :; done"]
            try p.run()
            return p
        }
    }

    func stopLoad(_ processes: [Process]) {
        for p in processes {
            p.terminate()
            p.waitUntilExit()
        }
    }
}
