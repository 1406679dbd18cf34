import Foundation
import Testing
import TestSupport
@testable import Trace
@testable import Workload

func generate(_ p: OLTPParameters) throws -> [TraceRecord] {
    var records: [TraceRecord] = []
    var generator = try OLTPGenerator(p)
    generator.run { records.append($0) }
    return records
}

@Suite("Workload models")
struct WorkloadTests {
    static var small: OLTPParameters {
        var p = OLTPPreset.oltp.parameters
        p.users = 12
        p.durationSeconds = 3
        p.capacityBytes = 4 << 30
        p.checkpointIntervalSeconds = 1
        return p
    }

    @Test("the same seed and parameters give byte-identical traces; another seed does not")
    func deterministic() throws {
        let scratch = ScratchDirectory()
        let dir = scratch.path
        func write(_ p: OLTPParameters, _ name: String) throws -> Data {
            let writer = try TraceWriter(path: dir + "/" + name, metadata: OLTPGenerator.metadata(p), options: .init(fsync: .none))
            var generator = try OLTPGenerator(p)
            try generator.run { try writer.append($0) }
            try writer.finish()
            return try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        var p = Self.small
        let a = try write(p, "a.vqt"), b = try write(p, "b.vqt")
        #expect(a == b && a.count > 1000)
        p.seed = 2
        #expect(try write(p, "c.vqt") != a)
    }

    @Test("one stream per vCPU: the log on vq 0, the checkpointer on vq 1, users on the rest")
    func streams() throws {
        let records = try generate(Self.small)
        let queues = Set(records.map(\.vq))
        #expect(queues == Set(0..<8))
        #expect(records.filter { $0.vq == 0 }.allSatisfy { $0.type == .write || $0.type == .flush })
        #expect(records.filter { $0.vq == 1 }.allSatisfy { $0.type == .write })
        #expect(records.filter { $0.vq >= 2 }.allSatisfy { $0.type == .read && $0.length == 8192 })
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.submitNs <= $1.submitNs })
    }

    @Test("log writes are sequential, 512 B multiples up to 60 KiB with a median near 8 KiB, and each group ends with a FLUSH on the same vq")
    func logWrites() throws {
        let log = try generate(Self.small).filter { $0.vq == 0 }
        let writes = log.filter { $0.type == .write }
        #expect(writes.count > 1000)
        #expect(writes.allSatisfy { $0.length % 512 == 0 && $0.length >= 512 && $0.length <= 61_440 })
        let sizes = writes.map(\.length).sorted()
        let median = sizes[sizes.count / 2]
        #expect(median >= 4096 && median <= 16384, "median log write \(median) B")
        // Sequential: each write starts where the previous ended (or wraps to the log's start).
        var sequential = 0
        for (a, b) in zip(writes, writes.dropFirst()) where b.sector == a.sector + UInt64(a.length / 512) { sequential += 1 }
        #expect(Double(sequential) >= Double(writes.count - 1) * 0.99)
        // The log stream is runs of writes (a group commit, split at 60 KiB), each closed by one FLUSH.
        for (a, b) in zip(log, log.dropFirst()) where b.type == .flush { #expect(a.type == .write) }
        var groups = 0
        for (a, b) in zip(log, log.dropFirst()) where a.type == .flush { #expect(b.type == .write); groups += 1 }
        #expect(groups > 1000)
    }

    @Test("checkpoint bursts come at the configured interval")
    func checkpoints() throws {
        let writes = try generate(Self.small).filter { $0.vq == 1 }
        #expect(!writes.isEmpty)
        // Bursts start just after each whole second (the interval), and nothing happens before the first.
        let bursts = Set(writes.map { $0.submitNs / 1_000_000_000 })
        #expect(bursts == [1, 2])
        #expect(writes.allSatisfy { $0.submitNs >= 1_000_000_000 })
        #expect(writes.allSatisfy { $0.length % 8192 == 0 && $0.length <= 256 << 10 })
    }

    @Test("PostgreSQL: WAL writes never cross a 16 MiB segment, and full-page writes grow the log after a checkpoint starts")
    func postgres() throws {
        var p = OLTPPreset.postgres.parameters
        p.users = 12
        p.durationSeconds = 3
        p.capacityBytes = 4 << 30
        p.checkpointIntervalSeconds = 1
        // A small, hot working set: by the checkpoint every page has been logged once, so the
        // full-page images come back only when the checkpoint starts a new cycle.
        p.hotPageShare = 0.002
        p.hotAccessShare = 0.99
        let log = try generate(p).filter { $0.vq == 0 && $0.type == .write }
        let segment: UInt64 = (16 << 20) / 512
        let crossing = log.filter { (r: TraceRecord) -> Bool in (r.sector % segment) + UInt64(r.length / 512) > segment }
        #expect(crossing.isEmpty)
        // WAL bytes per commit group: just after the checkpoint starts, first changes log whole pages.
        let all = try generate(p).filter { $0.vq == 0 }
        func bytesPerGroup(_ from: UInt64, _ to: UInt64) -> Double {
            let window = all.filter { $0.submitNs >= from && $0.submitNs < to }
            let bytes = window.filter { $0.type == .write }.reduce(0) { $0 + Double($1.length) }
            return bytes / Double(max(window.filter { $0.type == .flush }.count, 1))
        }
        let before = bytesPerGroup(800_000_000, 1_000_000_000), after = bytesPerGroup(1_000_000_000, 1_200_000_000)
        #expect(after > before * 1.5, "WAL per group \(before) B before the checkpoint, \(after) B just after")
    }

    @Test("fio-like jobs: one stream per job, depth kept, sizes from bssplit, zipf concentrates offsets")
    func fio() throws {
        var p = FioParameters()
        p.numjobs = 4
        p.iodepth = 8
        p.durationSeconds = 0.05
        p.bssplit = [(4096, 75), (65536, 25)]
        var records: [TraceRecord] = []
        try FioGenerator(p).run { records.append($0) }
        #expect(Set(records.map(\.vq)) == Set(0..<4))
        let large = Double(records.filter { $0.length == 65536 }.count) / Double(records.count)
        #expect(abs(large - 0.25) < 0.03)
        // Closed loop: at every submission, at most iodepth of the job's requests are in flight.
        for vq in 0..<4 {
            let job = records.filter { $0.vq == UInt16(vq) }
            for r in job.prefix(500) {
                let inFlight = job.filter { (o: TraceRecord) -> Bool in o.submitNs <= r.submitNs && (o.completionNs ?? 0) > r.submitNs }.count
                #expect(inFlight <= 8)
            }
        }
        p.zipfTheta = 1.2
        p.bssplit = [(4096, 100)]
        var zipf: [TraceRecord] = []
        try FioGenerator(p).run { zipf.append($0) }
        let distinct = Double(Set(zipf.map(\.sector)).count) / Double(zipf.count)
        #expect(distinct < 0.5, "zipf:1.2 should repeat blocks, distinct share \(distinct)")
    }
}

@Suite("OLTP calibration")
struct OLTPCalibrationTests {
    @Test("in steady state, the data area sees reads and checkpoint writes near 1.9:1")
    func readWriteRatio() throws {
        var p = OLTPPreset.oltp.parameters
        p.users = 12
        p.durationSeconds = 2.6
        p.capacityBytes = 8 << 30
        p.checkpointIntervalSeconds = 1
        let records = try generate(p)
        // The checkpoint at 2 s writes the pages dirtied in [1 s, 2 s); compare with that second's reads.
        let reads = records.filter { $0.vq >= 2 && $0.submitNs >= 1_000_000_000 && $0.submitNs < 2_000_000_000 }.count
        let writes = records.filter { $0.vq == 1 && $0.submitNs >= 2_000_000_000 }.count
        let ratio = Double(reads) / Double(writes)
        #expect(ratio > 1.9 * 0.75 && ratio < 1.9 * 1.25, "reads:writes \(ratio):1 (\(reads) reads, \(writes) writes)")
    }
}
