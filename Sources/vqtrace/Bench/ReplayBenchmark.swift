import Engine
import Foundation
import Replay
import Trace

/// Open-loop replay fidelity on the null backend, beside fio's iolog replay of the same requests:
/// lateness of each submission against its deadline, and how far the whole run drifted from the
/// recorded duration.
struct ReplayBenchmark {
    struct Result {
        var iops: Double
        var requests: Int
        var recordedNs: UInt64
        var replayedNs: UInt64
        var latenessNs: (p50: UInt64, p99: UInt64, p999: UInt64)
        var fioRuntimeMs: Double?
        var vqtraceDrift: Double { Double(replayedNs) / Double(max(recordedNs, 1)) - 1 }
        var fioDrift: Double? { fioRuntimeMs.map { $0 * 1e6 / Double(max(recordedNs, 1)) - 1 } }
    }

    let directory: String

    func run(iops: Double, seconds: Double, layout: String = "single", realtime: Bool = false) throws -> Result {
        let requests = Int(iops * seconds)
        let path = directory + "/replay-bench-\(Int(iops)).vqt"
        defer { unlink(path) }
        _ = try TracesCommand.Synth.writeOLTPShape(out: path, requests: requests, seed: 3, withCompletions: false,
                                                   options: TraceWriterOptions(fsync: .none), iops: iops)
        var options = ReplayOptions()
        options.timing = .open
        let result = try ReplayRunner.run(tracePath: path, target: nil, layoutSpec: layout, backend: .null, options: options, safety: nil, realtime: realtime)
        let reader = try TraceReader(path: path)
        let recorded = reader.totals.lastSubmitNs - reader.totals.firstSubmitNs
        return Result(
            iops: iops, requests: requests, recordedNs: recorded, replayedNs: result.replayedNs,
            latenessNs: (result.lateness.valueAtPercentile(50), result.lateness.valueAtPercentile(99), result.lateness.valueAtPercentile(99.9)),
            fioRuntimeMs: try? fioReplay(trace: reader))
    }

    /// Writes the trace as a fio v3 iolog (µs timestamps) and replays it with fio's null engine;
    /// returns fio's job runtime in ms.
    func fioReplay(trace reader: TraceReader) throws -> Double? {
        let log = directory + "/replay-bench.iolog"
        defer { unlink(log) }
        var text = "fio version 3 iolog\n0 vqtrace.bin add\n0 vqtrace.bin open\n"
        var cursor = reader.cursor()
        let start = reader.totals.firstSubmitNs
        var last: UInt64 = 0
        while let r = try cursor.next() {
            let us = (r.submitNs - start) / 1000
            last = us
            switch r.type {
            case .read: text += "\(us) vqtrace.bin read \(r.sector * 512) \(r.length)\n"
            case .write: text += "\(us) vqtrace.bin write \(r.sector * 512) \(r.length)\n"
            case .flush: text += "\(us) vqtrace.bin sync 0 0\n"
            default: continue
            }
        }
        text += "\(last) vqtrace.bin close\n"
        try text.write(toFile: log, atomically: false, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/fio")
        process.arguments = ["--name=replay", "--ioengine=null", "--read_iolog=\(log)", "--size=200G", "--output-format=json"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard let brace = data.firstIndex(of: UInt8(ascii: "{")),
              let object = try JSONSerialization.jsonObject(with: data[brace...]) as? [String: Any],
              let job = (object["jobs"] as? [[String: Any]])?.first
        else { return nil }
        return (job["job_runtime"] as? NSNumber)?.doubleValue
    }
}
