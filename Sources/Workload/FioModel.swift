import Foundation
import Trace

/// A fio-like job set as per-vq streams, with fio's option names: numjobs → vqs, rw, bs or
/// bssplit, iodepth per job, rate_iops per job, random_distribution uniform or zipf:θ.
public struct FioParameters: Sendable, Equatable {
    public enum RW: String, Sendable, CaseIterable { case read, write, randread, randwrite, randrw, rw }
    public var rw: RW = .randread
    /// (block size, percent) pairs; `bs` alone is one pair at 100%.
    public var bssplit: [(UInt32, Int)] = [(4096, 100)]
    public var iodepth = 8
    /// Requests per second per job; 0 = closed loop at `iodepth`.
    public var rateIOPS = 0.0
    /// 0 = uniform; otherwise zipf with this θ.
    public var zipfTheta = 0.0
    public var rwmixread = 50
    public var numjobs = 4
    public var durationSeconds = 10.0
    public var capacityBytes: UInt64 = 16 << 30
    public var readServiceSeconds = 0.0001
    public var writeServiceSeconds = 0.00005
    public var seed: UInt64 = 1

    public init() {}

    public static func == (a: FioParameters, b: FioParameters) -> Bool {
        a.asParameters == b.asParameters
    }

    /// Checks every parameter a user can set; the generator refuses to start otherwise.
    public func validate() throws(WorkloadError) {
        try WorkloadError.check(numjobs, "--numjobs", in: 1...1024)
        try WorkloadError.check(iodepth, "--iodepth", in: 1...1024)
        try WorkloadError.check(rwmixread, "--rwmixread", in: 0...100)
        try WorkloadError.check(rateIOPS, "--rate-iops", in: 0...10_000_000)
        try WorkloadError.check(zipfTheta, "the zipf θ of --random-distribution", in: 0...100)
        guard durationSeconds.isFinite && durationSeconds > 0 && durationSeconds <= WorkloadError.longestSeconds else {
            throw WorkloadError("--duration must be positive and at most 30 days; \(durationSeconds) s is not")
        }
        guard !bssplit.isEmpty, bssplit.allSatisfy({ $0.1 >= 0 && $0.1 <= 100 }), bssplit.reduce(0, { $0 + $1.1 }) > 0 else {
            throw WorkloadError("--bssplit shares must be percentages 0...100 that add up to more than 0")
        }
        guard capacityBytes % 512 == 0 && capacityBytes >= 1 << 20 else {
            throw WorkloadError("--capacity must be at least 1m and a multiple of 512; \(capacityBytes) bytes is not")
        }
        for (size, _) in bssplit where size < 512 || size % 512 != 0 || size > 64 << 20 || UInt64(size) > capacityBytes {
            throw WorkloadError("block size \(size) must be a multiple of 512, at most 64m and at most the capacity")
        }
    }

    public var asParameters: [String: String] {
        ["rw": rw.rawValue, "bssplit": bssplit.map { "\($0.0)/\($0.1)" }.joined(separator: ":"), "iodepth": "\(iodepth)",
         "rate_iops": "\(rateIOPS)", "random_distribution": zipfTheta > 0 ? "zipf:\(zipfTheta)" : "random", "rwmixread": "\(rwmixread)",
         "numjobs": "\(numjobs)", "duration_s": "\(durationSeconds)", "capacity_bytes": "\(capacityBytes)", "seed": "\(seed)"]
    }
}

/// Generates a fio-like job set: each job (vq) keeps `iodepth` requests in flight with nominal
/// service times, or issues at `rate_iops`; requests come out in submit-time order.
public struct FioGenerator {
    public let parameters: FioParameters

    /// Refuses parameters the model cannot run with (`FioParameters.validate`).
    public init(_ parameters: FioParameters) throws(WorkloadError) {
        try parameters.validate()
        self.parameters = parameters
    }

    public static func metadata(_ p: FioParameters) -> TraceMetadata {
        TraceMetadata(
            devices: [.init(name: "vda", capacitySectors: p.capacityBytes / 512, logicalBlockSize: 512, numQueues: UInt16(p.numjobs), queueSize: 256)],
            source: .init(kind: "synthetic", name: "fio", parameters: p.asParameters), createdAt: Date(timeIntervalSince1970: 0))
    }

    public func run(_ emit: (TraceRecord) throws -> Void) rethrows {
        let p = parameters
        let end = UInt64(p.durationSeconds * 1e9)
        var random = WorkloadRandom(seed: p.seed)
        // Per job: the next submission time of each in-flight slot (closed loop), or the next arrival.
        struct Job { var slots: [UInt64]; var offset: UInt64 }
        var jobs = (0..<p.numjobs).map { j in
            Job(slots: p.rateIOPS > 0 ? [0] : Array(repeating: 0, count: p.iodepth),
                offset: p.capacityBytes / UInt64(p.numjobs) * UInt64(j) / 4096 * 4096)
        }
        let totalPercent = max(p.bssplit.reduce(0) { $0 + $1.1 }, 1)
        while true {
            // The earliest slot of all jobs goes next (ties: lowest job, then slot).
            var best: (job: Int, slot: Int, time: UInt64)?
            for (j, job) in jobs.enumerated() {
                for (s, t) in job.slots.enumerated() where best == nil || t < best!.time { best = (j, s, t) }
            }
            guard let next = best, next.time < end else { return }
            var pick = Int(random.below(UInt64(totalPercent)))
            var size = p.bssplit[0].0
            for (bs, percent) in p.bssplit {
                if pick < percent { size = bs; break }
                pick -= percent
            }
            let isRead: Bool
            switch p.rw {
            case .read, .randread: isRead = true
            case .write, .randwrite: isRead = false
            case .randrw, .rw: isRead = Int(random.below(100)) < p.rwmixread
            }
            let blocks = max(p.capacityBytes / UInt64(size), 1)
            let offset: UInt64
            switch p.rw {
            case .read, .write, .rw:
                offset = jobs[next.job].offset % (blocks * UInt64(size))
                jobs[next.job].offset = offset + UInt64(size)
            default:
                let u = random.unit()
                let block: UInt64
                if p.zipfTheta > 0 && p.zipfTheta != 1 {
                    // A continuous power law over the blocks: popular blocks low, spread by a hash.
                    let x = p.zipfTheta < 1 ? pow(u, 1 / (1 - p.zipfTheta)) : min(1, pow(1 - u, -1 / (p.zipfTheta - 1)) / Double(blocks))
                    block = (UInt64(x * Double(blocks - 1)) &* 0x9E37_79B9_7F4A_7C15) % blocks
                } else {
                    block = random.below(blocks)
                }
                offset = block * UInt64(size)
            }
            let service = UInt64(((isRead ? p.readServiceSeconds : p.writeServiceSeconds) * 1e6).rounded()) * 1000
            try emit(TraceRecord(vq: UInt16(next.job), type: isRead ? .read : .write, sector: offset / 512, length: size,
                                 submitNs: next.time, completionNs: next.time + service))
            jobs[next.job].slots[next.slot] = p.rateIOPS > 0
                ? next.time + UInt64(max(1, (1e6 / p.rateIOPS).rounded())) * 1000
                : next.time + service
        }
    }
}
