import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs fio with the same pattern on the same file in the same run, so that vqtrace's numbers
/// come with a reference measured under the same conditions.
public struct FioPeer {
    public struct Result: @unchecked Sendable {
        public var readIOPS: Double
        public var writeIOPS: Double
        /// fio's completion latency (clat): from the moment io_uring_enter returned to the reap.
        public var readP50Ns: Double?
        public var readP99Ns: Double?
        /// fio's total latency (lat = slat + clat): from the request's preparation, before its
        /// submission call, to the reap. vqtrace's latency runs from the kick that makes a request
        /// visible, through the IOThread's submission, to the reap: this is the figure to set
        /// beside it (at QD1 on a VM, fio's submission call alone is ~18 µs that clat leaves out).
        public var readLatP50Ns: Double?
        public var readLatP99Ns: Double?
        public var commandLine: String
        /// fio's first job, as it printed it.
        public var json: [String: Any]
        public var iops: Double { readIOPS + writeIOPS }
    }

    public enum FioError: Error, CustomStringConvertible {
        case notInstalled
        case failed(String)
        /// Stopped by an interruption before it finished: no figures.
        case interrupted
        public var description: String {
            switch self {
            case .interrupted: return "fio was stopped by the interruption"
            case .notInstalled: return "fio is not installed (make deps installs it)"
            case .failed(let why): return "fio failed: \(why)"
            }
        }
    }

    /// Runs fio with `arguments` (JSON output is added) and returns its first job's JSON.
    public static func job(_ arguments: [String], shouldStop: (@Sendable () -> Bool)? = nil) throws -> [String: Any] {
        guard let fio = ["/usr/bin/fio", "/usr/local/bin/fio"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw FioError.notInstalled
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: fio)
        // --thread: fio's jobs are threads of the one process vqtrace started, so that an
        // interruption's SIGKILL ends them all (as forked jobs they outlived it, doing I/O).
        process.arguments = arguments + (arguments.contains("--output-format=json") ? [] : ["--output-format=json"]) + (arguments.contains("--thread") ? [] : ["--thread"])
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Its output is read beside the wait, so that an interruption can end fio (which
        // inherits vqtrace's blocked SIGINT) instead of waiting out its runtime.
        final class Output: @unchecked Sendable { var data = Data(), errors = Data() }
        let output = Output()
        let read = DispatchGroup()
        DispatchQueue.global().async(group: read) { output.data = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: read) { output.errors = err.fileHandleForReading.readDataToEndOfFile() }
        while process.isRunning {
            if shouldStop?() == true {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                read.wait()
                throw FioError.interrupted
            }
            usleep(20_000)
        }
        read.wait()
        process.waitUntilExit()
        let data = output.data
        let errors = String(decoding: output.errors, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw FioError.failed(errors.isEmpty ? "exit \(process.terminationStatus)" : errors) }
        // fio may print notes before the JSON.
        guard let start = data.firstIndex(of: UInt8(ascii: "{")),
              let object = try JSONSerialization.jsonObject(with: data[start...]) as? [String: Any],
              let job = (object["jobs"] as? [[String: Any]])?.first
        else { throw FioError.failed("no JSON job in its output") }
        return job
    }

    /// `engine` is fio's ioengine (io_uring or null); `jobs` = vqs, `depth` per job.
    public static func run(engine: String, target: String?, sizeBytes: UInt64, rw: String, blockSize: Int, depth: Int, jobs: Int,
                    rwmixread: Int, seconds: Double, shouldStop: (@Sendable () -> Bool)? = nil) throws -> Result {
        var arguments = [
            "--name=vqtrace-peer", "--ioengine=\(engine)", "--rw=\(rw)", "--bs=\(blockSize)", "--iodepth=\(depth)",
            "--numjobs=\(jobs)", "--size=\(sizeBytes)", "--runtime=\(max(1, Int(seconds.rounded())))", "--time_based",
            "--group_reporting", "--output-format=json", "--randrepeat=0", "--norandommap",
            // Percentiles of lat (submission included) as well as of clat: see `readLatP50Ns`.
            "--lat_percentiles=1",
        ]
        if rw == "randrw" { arguments.append("--rwmixread=\(rwmixread)") }
        // The engine's run prepared the target (created, filled with data); fio must measure
        // that same file. On an existing file of at least --size fio lays nothing out (checked
        // with strace: no fallocate, no ftruncate, just open), and --allow_file_create=0 makes
        // it fail instead of making a fresh, unfilled file should the target be missing.
        if let target, engine != "null" { arguments += ["--filename=\(target)", "--direct=1", "--allow_file_create=0"] }
        let job = try Self.job(arguments, shouldStop: shouldStop)
        let read = job["read"] as? [String: Any] ?? [:]
        let write = job["write"] as? [String: Any] ?? [:]
        func percentiles(_ key: String) -> [String: Any]? { (read[key] as? [String: Any])?["percentile"] as? [String: Any] }
        let clat = percentiles("clat_ns"), lat = percentiles("lat_ns")
        return Result(readIOPS: read["iops"] as? Double ?? 0, writeIOPS: write["iops"] as? Double ?? 0,
                      readP50Ns: clat?["50.000000"] as? Double, readP99Ns: clat?["99.000000"] as? Double,
                      readLatP50Ns: lat?["50.000000"] as? Double, readLatP99Ns: lat?["99.000000"] as? Double,
                      commandLine: "fio " + arguments.joined(separator: " "), json: job)
    }
}
