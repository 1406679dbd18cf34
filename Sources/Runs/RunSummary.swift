import BlockBackend
import Foundation
import Replay
import Trace

/// A stored run's figures, as the catalog keeps them (the `summaryJSON` column) and reports read
/// them. Its JSON is fio-shaped where fio has the same figure (`read`, `write`), so that runs
/// stored by earlier versions, which wrote these keys by hand, still load.
public struct RunSummary: Codable, Sendable, Equatable {
    /// Requests completed, replayed (submitted from the trace) and left out (skipped writes,
    /// unknown types, requests too large).
    public var requests: UInt64
    public var replayed: UInt64
    public var skipped: UInt64
    /// Wall-clock seconds of the run, and completed requests per second over them.
    public var seconds: Double
    public var iops: Double
    /// The window's span in the trace (÷ speed) and the span the replay took, ns.
    public var scheduledNs: UInt64
    public var replayedNs: UInt64
    public var read: FioDirection
    public var write: FioDirection
    public var lateness: LatenessFigures?
    /// How the target was prepared (nil for runs stored before this was kept).
    public var targetPreparation: TargetPreparation?
    /// Damaged chunks the replay skipped, and the records they held.
    public var damagedChunks: [Int]?
    public var recordsLost: UInt64?
    /// How faithful the run was to its trace, when it was recorded and compared.
    public var fidelity: Fidelity?
    /// How the vCPU drivers ran: the `--driver-threads` setting and the threads it made (nil
    /// for runs stored before this was kept).
    public var driverThreads: DriverThreadFigures?
    /// Open or think timing: whether lateness p99 passed the run's `--lateness-warn` (the host
    /// could not keep the schedule); nil for the other timings and older runs.
    public var scheduleMissed: Bool?

    enum CodingKeys: String, CodingKey {
        case requests, replayed, skipped, seconds, iops, read, write
        case scheduledNs = "scheduled_ns", replayedNs = "replayed_ns", lateness = "lateness_ns"
        case targetPreparation = "target_preparation", damagedChunks = "damaged_chunks", recordsLost = "records_lost", fidelity
        case driverThreads = "driver_threads", scheduleMissed = "schedule_missed"
    }

    /// Figures a program measured itself: `read` and `write` over `seconds`, all replayed.
    public init(seconds: Double, read: FioDirection, write: FioDirection) {
        requests = read.ios + write.ios
        replayed = requests
        skipped = 0
        self.seconds = seconds
        iops = seconds > 0 ? Double(requests) / seconds : 0
        scheduledNs = 0
        replayedNs = UInt64(max(0, seconds) * 1e9)
        self.read = read
        self.write = write
    }

    /// The figures of a finished replay.
    public init(_ result: ReplayResult) {
        let engine = result.engine
        let seconds = engine.wallSeconds
        requests = engine.requests
        replayed = result.replayed
        skipped = result.skipped
        self.seconds = seconds
        iops = seconds > 0 ? Double(engine.requests) / seconds : 0
        scheduledNs = result.scheduledNs
        replayedNs = result.replayedNs
        read = FioDirection(engine.queues, read: true, seconds: seconds)
        write = FioDirection(engine.queues, read: false, seconds: seconds)
        lateness = LatenessFigures(result.lateness)
        targetPreparation = result.targetPreparation
        damagedChunks = result.damagedChunks.isEmpty ? nil : result.damagedChunks.map(\.index)
        recordsLost = result.damagedChunks.isEmpty ? nil : result.damagedChunks.reduce(0) { $0 + $1.records }
        driverThreads = DriverThreadFigures(setting: result.driverThreads.description, threads: engine.driverThreads)
        scheduleMissed = result.lateness.totalCount > 0 ? result.scheduleMissed : nil
    }

    /// Bytes read and written per second.
    public var bytesPerSecond: Double { read.bytesPerSecond + write.bytesPerSecond }

    /// The summary as the catalog stores it: compact JSON, sorted keys.
    public func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A stored summary; throws naming what does not decode.
    public static func decode(_ json: String) throws -> RunSummary {
        try JSONDecoder().decode(RunSummary.self, from: Data(json.utf8))
    }
}

/// How a run's vCPU drivers ran: the setting asked for and the OS threads it made.
public struct DriverThreadFigures: Codable, Sendable, Equatable {
    /// `auto`, `per-vq` or a number.
    public var setting: String
    public var threads: Int
    public init(setting: String, threads: Int) {
        self.setting = setting
        self.threads = threads
    }
}
