import Foundation
import Import
import Trace
import Workload

/// Measures `vqtrace import` on the two text formats users have most: a fio v3 iolog and
/// blkparse text (a Q and a C line per request), both written from the same OLTP-shaped stream.
/// The peer in the same run is `wc -l` on the same file: the speed of merely finding the lines,
/// the ceiling any parser of that file works under.
public struct ImportBenchmark: Sendable {
    public struct Result: Sendable {
        public var format: ImportFormat
        public var lines: Int
        public var requests: UInt64
        public var fileBytes: UInt64
        /// Best of the repeats.
        public var seconds: Double
        public var wcSeconds: Double?
        public var linesPerSecond: Double { Double(lines) / seconds }
        public var wcLinesPerSecond: Double? { wcSeconds.map { Double(lines) / $0 } }
    }

    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func run(requests: Int, repeats: Int) throws -> [Result] {
        let trace = directory + "/vqtrace-import-bench.vqt"
        let sample = OLTPSample(requests: requests, seed: 11)
        let writer = try TraceWriter(path: trace, metadata: sample.metadata, options: .init(fsync: .none, replaceExisting: true))
        try sample.run { try writer.append($0) }
        try writer.finish()
        defer { unlink(trace) }

        var results: [Result] = []
        for format in [ImportFormat.fioIolog, .blkparse] {
            let text = directory + "/vqtrace-import-bench.\(format.rawValue)"
            let out = directory + "/vqtrace-import-bench-back.vqt"
            defer {
                unlink(text)
                unlink(out)
            }
            if format == .fioIolog {
                _ = try FioIologExporter.export(tracePath: trace, out: text, fileNames: ["db.bin"], replaceExisting: true)
            } else {
                _ = try BlkparseExporter.export(tracePath: trace, out: text, replaceExisting: true)
            }
            var importer = TraceImporter(format: format)
            importer.queues = sample.parameters.vcpus
            importer.replaceExisting = true  // each repeat writes the same scratch trace again
            var best = Double.infinity
            var last: TraceImporter.Result?
            for _ in 0..<max(repeats, 1) {
                let start = TraceCodecBenchmark.now()
                last = try importer.run(paths: [text], out: out)
                best = min(best, TraceCodecBenchmark.now() - start)
            }
            let size = (try FileManager.default.attributesOfItem(atPath: text)[.size] as? NSNumber)?.uint64Value ?? 0
            results.append(Result(format: format, lines: last!.lines, requests: last!.totals.records, fileBytes: size, seconds: best,
                                  wcSeconds: try wcSeconds(text, repeats: repeats)))
        }
        return results
    }

    /// The best time of `wc -l` on the file, or nil without wc.
    private func wcSeconds(_ path: String, repeats: Int) throws -> Double? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wc") else { return nil }
        var best = Double.infinity
        for _ in 0..<max(repeats, 1) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/wc")
            process.arguments = ["-l", path]
            process.standardOutput = FileHandle.nullDevice
            let start = TraceCodecBenchmark.now()
            try process.run()
            process.waitUntilExit()
            best = min(best, TraceCodecBenchmark.now() - start)
        }
        return best
    }
}
