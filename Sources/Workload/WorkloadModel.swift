import Foundation
import Trace
import Units

/// A model ready to run: one of the OLTP presets or a fio-like job set, with its parameters.
public enum WorkloadModel: Sendable {
    case oltp(OLTPParameters)
    case fio(FioParameters)

    /// The model's name as `--workload` spells it.
    public var name: String {
        switch self {
        case .oltp(let p): return p.name
        case .fio: return "fio"
        }
    }

    public var durationSeconds: Double {
        switch self {
        case .oltp(let p): return p.durationSeconds
        case .fio(let p): return p.durationSeconds
        }
    }

    public func validate() throws(WorkloadError) {
        switch self {
        case .oltp(let p): try p.validate()
        case .fio(let p): try p.validate()
        }
    }

    /// The trace's metadata: the device and the model's parameters (enough to make it again).
    public var metadata: TraceMetadata {
        switch self {
        case .oltp(let p): return OLTPGenerator.metadata(p)
        case .fio(let p): return FioGenerator.metadata(p)
        }
    }

    /// Runs the model into `emit` (requests in submit-time order); returns the summary lines a
    /// model adds (the OLTP models: transactions per minute and a NOPM-like figure).
    public func run(_ emit: (TraceRecord) throws -> Void) throws -> [String] {
        switch self {
        case .fio(let p):
            try FioGenerator(p).run(emit)
            return []
        case .oltp(let p):
            var generator = try OLTPGenerator(p)
            try generator.run(emit)
            let tpm = Double(generator.transactions) / (p.durationSeconds / 60)
            // TPROC-C's New Order transactions are about 45% of the mix: HammerDB's NOPM counts them.
            return [String(format: "  %.0f transactions per minute (model), NOPM-like %.0f", tpm, tpm * 0.45)]
        }
    }
}

extension FioParameters {
    /// fio's `bssplit`: "4k/70:64k/30" (sizes and percentages).
    public static func blockSizeSplit(_ text: String) throws(WorkloadError) -> [(UInt32, Int)] {
        var parts: [(UInt32, Int)] = []
        for part in text.split(separator: ":") {
            let pieces = part.split(separator: "/")
            guard pieces.count == 2, let size = ByteSize(parsing: String(pieces[0])), let share = Int(pieces[1]) else {
                throw WorkloadError("--bssplit \(text): each part is SIZE/PERCENT, e.g. 4k/70")
            }
            parts.append((blockSize(size), share))
        }
        return parts
    }

    /// A size as the model's 32-bit block size (sizes past 64m are refused by `validate`).
    public static func blockSize(_ size: ByteSize) -> UInt32 { UInt32(min(size.bytes, UInt64(UInt32.max))) }

    /// fio's `random_distribution`: "random" (uniform, θ 0) or "zipf:θ".
    public static func zipfTheta(_ text: String) throws(WorkloadError) -> Double {
        if text == "random" { return 0 }
        guard text.hasPrefix("zipf:"), let theta = Double(text.dropFirst(5)) else {
            throw WorkloadError("--random-distribution must be random or zipf:θ")
        }
        return theta
    }
}

extension WorkloadModel {
    /// What a generated trace holds, for a terminal: requests, span and rate, the mix.
    public static func lines(out: String, totals: TraceTotals, seconds: Double) -> [String] {
        let span = Double(totals.lastSubmitNs - totals.firstSubmitNs) / 1e9
        return ["wrote \(out): \(totals.records) requests over \(String(format: "%.2f", span)) s "
                + "(\(String(format: "%.0f", Double(totals.records) / max(span, 1e-9))) IOPS) in \(String(format: "%.1f", seconds)) s",
                String(format: "  read %llu, write %llu, flush %llu", totals.mix[0], totals.mix[1], totals.mix[2])]
    }

    /// Runs the model into a new trace at `path`. `progress` hears the share of the modelled
    /// time done (0...1, at most every 50 ms of model time); `shouldStop`, asked every 4,096
    /// requests, ends the run early with an error (the writer then leaves no file).
    public func write(to path: String, options: TraceWriterOptions = .init(fsync: .close), progress: ((Double) -> Void)? = nil,
                      shouldStop: (() -> Bool)? = nil) throws -> (totals: TraceTotals, summary: [String]) {
        let writer = try TraceWriter(path: path, metadata: metadata, options: options)
        let total = max(durationSeconds * 1e9, 1)
        var next: UInt64 = 0
        var appended = 0
        let summary = try run { record in
            try writer.append(record)
            appended += 1
            if appended & 0xFFF == 0, shouldStop?() == true { throw WorkloadError("interrupted") }
            if record.submitNs >= next {
                progress?(min(1, Double(record.submitNs) / total))
                next = record.submitNs + 50_000_000
            }
        }
        return (try writer.finish(), summary)
    }
}

extension FioParameters {
    /// The fio-like job a command line describes (fio's own option names); throws naming a
    /// `bssplit` or random distribution it cannot read.
    public init(rw: RW, bssplit: String?, bs: ByteSize?, iodepth: Int, numjobs: Int, rateIOPS: Double, rwmixread: Int,
                randomDistribution: String, durationSeconds: Double, capacityBytes: UInt64, seed: UInt64) throws(WorkloadError) {
        self.init()
        self.rw = rw
        if let bssplit { self.bssplit = try Self.blockSizeSplit(bssplit) } else if let bs { self.bssplit = [(Self.blockSize(bs), 100)] }
        self.iodepth = iodepth
        self.numjobs = numjobs
        self.rateIOPS = rateIOPS
        self.rwmixread = rwmixread
        zipfTheta = try Self.zipfTheta(randomDistribution)
        self.durationSeconds = durationSeconds
        self.capacityBytes = capacityBytes
        self.seed = seed
    }
}

extension OLTPParameters {
    /// `preset`'s parameters with what a command line changes (nil keeps the preset's).
    public init(preset: OLTPPreset, vcpus: Int, users: Int, durationSeconds: Double, capacityBytes: UInt64, seed: UInt64,
                checkpointIntervalSeconds: Double?, thinkSeconds: Double?, keyingSeconds: Double?, hotPageShare: Double?) {
        self = preset.parameters
        self.vcpus = vcpus
        self.users = users
        self.durationSeconds = durationSeconds
        self.capacityBytes = capacityBytes
        self.seed = seed
        if let checkpointIntervalSeconds { self.checkpointIntervalSeconds = checkpointIntervalSeconds }
        if let thinkSeconds { self.thinkSeconds = thinkSeconds }
        if let keyingSeconds { self.keyingSeconds = keyingSeconds }
        if let hotPageShare { self.hotPageShare = hotPageShare }
    }
}
