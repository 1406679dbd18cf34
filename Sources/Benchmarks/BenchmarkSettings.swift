import Layout
import Units
import VhostUser

/// A benchmark setting outside what the measurement can use; the message names the option as
/// `vqtrace bench` spells it, so the CLI reports it as a usage mistake (exit 2) and a program
/// sees which field to change.
public struct BenchmarkSettingError: UsageMistake, Equatable {
    public let message: String
    public var isUsageMistake: Bool { true }
    public var description: String { message }

    public init(_ message: String) { self.message = message }

    /// Throws unless `value` lies in `range`, naming `option` and the range.
    public static func require(_ option: String, _ value: Int, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else { throw BenchmarkSettingError("\(option) must be \(range.lowerBound)...\(range.upperBound), not \(value)") }
    }
}

/// The counts every bench component reads (how much to measure, how often), checked together
/// before the first measurement starts.
public struct BenchmarkCounts: Sendable, Equatable {
    public var roundTrips: Int
    public var repeats: Int
    public var queueSize: Int
    public var requests: Int
    public var windowRequests: Int
    public var windows: Int
    public var competingLoad: Int
    public var runs: Int
    /// Interleaved engine/fio pairs.
    public var pairs: Int

    public init(roundTrips: Int = 20_000_000, repeats: Int = 3, queueSize: Int = 256, requests: Int = 5_000_000, windowRequests: Int = 0,
                windows: Int = 20, competingLoad: Int = 0, runs: Int = 200, pairs: Int = 1) {
        (self.roundTrips, self.repeats, self.queueSize, self.requests) = (roundTrips, repeats, queueSize, requests)
        (self.windowRequests, self.windows, self.competingLoad, self.runs) = (windowRequests, windows, competingLoad, runs)
        self.pairs = pairs
    }

    /// Throws the first count out of range, named as its option.
    public func check() throws {
        try BenchmarkSettingError.require("--round-trips", roundTrips, in: 1...10_000_000_000)
        try BenchmarkSettingError.require("--repeats", repeats, in: 1...1000)
        try BenchmarkSettingError.require("--queue-size", queueSize, in: 2...32768)
        guard queueSize & (queueSize - 1) == 0 else { throw BenchmarkSettingError("--queue-size must be a power of two in 2...32768, not \(queueSize)") }
        try BenchmarkSettingError.require("--requests", requests, in: 1...10_000_000_000)
        try BenchmarkSettingError.require("--window-requests", windowRequests, in: 0...10_000_000_000)
        try BenchmarkSettingError.require("--windows", windows, in: 1...100_000)
        try BenchmarkSettingError.require("--competing-load", competingLoad, in: 0...64)
        try BenchmarkSettingError.require("--runs", runs, in: 1...1_000_000)
        try BenchmarkSettingError.require("--pairs", pairs, in: 1...100)
    }
}

extension EngineBenchmark {
    /// Throws the first setting the engine cannot run, named as its `vqtrace bench` option:
    /// called before any target is opened or filled.
    public func check() throws {
        if backend == .qsd {
            throw BenchmarkSettingError("bench names qemu-storage-daemon as a back-end: --back-ends qsd (or engine,qsd to run both, interleaved)")
        }
        if let backEnd {
            if backend == .null { throw BenchmarkSettingError("--back-ends \(backEnd.label) serves a target: --backend null has none") }
            if backEnd.servesTarget && target == nil { throw BenchmarkSettingError("--back-ends \(backEnd.label) needs --target FILE: it serves that file") }
            if backEnd == .qemuStorageDaemon {
                do { _ = try QemuStorageDaemon.commandLine(for: try LayoutSpec.parse(layoutSpec, numQueues: vqs)) } catch let error as VhostUserFrontEndError {
                    throw BenchmarkSettingError(error.description)
                }
            }
        } else if backend != .null && target == nil {
            throw BenchmarkSettingError("--backend \(backend.rawValue) needs --target FILE (a file under /tmp is fine)")
        }
        guard blockSize >= 512 && blockSize % 512 == 0 && blockSize <= 1 << 20 else {
            throw BenchmarkSettingError("--bs must be a multiple of 512 up to 1m, not \(blockSize)")
        }
        guard sizeBytes >= UInt64(blockSize) else { throw BenchmarkSettingError("--size must be at least --bs (\(blockSize) bytes)") }
        if let problem = ByteSize(bytes: sizeBytes).problem("--size", atLeast: 1 << 20, multipleOf: 512) { throw BenchmarkSettingError(problem) }
        try BenchmarkSettingError.require("--vqs", vqs, in: 1...1024)
        try BenchmarkSettingError.require("--qd", depth, in: 1...1024)
        try BenchmarkSettingError.require("--rwmixread", rwmixread, in: 0...100)
        try BenchmarkSettingError.require("--submit-batch", submitBatch, in: 0...32768)
        if submitBatch != 0, let backEnd {
            throw BenchmarkSettingError("--submit-batch sets the engine's own IOThreads; the \(backEnd.label) back-end submits its own way: run --submit-batch without --back-ends, or with --back-ends engine")
        }
    }
}
