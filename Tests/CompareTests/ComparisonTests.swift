import Compare
import Foundation
import Testing
import TestSupport
import Trace

/// Comparisons of constructed pairs whose answers are known.
@Suite("Trace comparison")
struct ComparisonTests {
    static let metadata = TraceMetadata(devices: [.init(capacitySectors: 1 << 24, numQueues: 2)], source: .init(kind: "test", name: "pair"),
                                        createdAt: Date(timeIntervalSince1970: 1_800_000_000),
                                        host: .init(hostname: "h", kernel: "6", cpuModel: "c", onlineCPUs: 2))

    /// 2 vqs, `count` requests each, one every 100 µs per vq (10k IOPS per vq), 50 µs of latency.
    static func records(count: Int = 5000) -> [TraceRecord] {
        var out: [TraceRecord] = []
        for i in 0..<count {
            for vq in 0..<2 {
                let t = UInt64(i) * 100_000 + UInt64(vq) * 10_000
                out.append(TraceRecord(vq: UInt16(vq), type: i % 4 == 0 ? .write : .read, sector: UInt64((i * 7919 + vq * 13) % 100_000) * 8,
                                       length: 4096, submitNs: t, completionNs: t + 50_000))
            }
        }
        return out
    }

    static func write(_ records: [TraceRecord], _ path: String) throws -> TraceReader {
        let writer = try TraceWriter(path: path, metadata: metadata, options: .init(recordsPerChunk: 1000, replaceExisting: true))
        for r in records { try writer.append(r) }
        try writer.finish()
        return try TraceReader(path: path)
    }

    @Test("identical traces: the same requests, 0% IOPS error, nothing reordered, KS 0, correlation 1")
    func identical() throws {
        let dir = ScratchDirectory()
        let a = try Self.write(Self.records(), dir.file("a.vqt"))
        let c = try TraceComparison.compare(a, try TraceReader(path: dir.file("a.vqt")))
        #expect(c.overall.sameRequests && c.overall.missing == 0 && c.overall.extra == 0)
        #expect(c.overall.iopsError == 0 && c.overall.reorderedShare == 0 && c.overall.meanDisplacement == 0)
        #expect(c.overall.interArrivalKS == 0 && c.overall.latencyKS == 0 && c.overall.latencyP50Ratio == 1)
        #expect(abs(c.overall.iopsCorrelation - 1) < 1e-9 && c.drift == 0)
        #expect(c.queues.map(\.name) == ["vda vq0", "vda vq1"] && c.queues.allSatisfy { $0.a.requests == 5000 && $0.b.requests == 5000 })
        #expect(c.answer == "B reproduces A within 0.00% IOPS error, 0.00% reordered, latency p50 +0.00%, span +0.00%.")
    }

    @Test("two requests of one vq swapped: exactly one of that vq's requests is reordered, with displacement 2/N")
    func swap() throws {
        let dir = ScratchDirectory()
        var records = Self.records()
        let a = try Self.write(records, dir.file("a.vqt"))
        // vq 1's requests 100 and 101 trade places (their times stay: B issued them swapped).
        let first = records.indices.filter { records[$0].vq == 1 }[100], second = records.indices.filter { records[$0].vq == 1 }[101]
        (records[first].sector, records[second].sector) = (records[second].sector, records[first].sector)
        (records[first].type, records[second].type) = (records[second].type, records[first].type)
        let b = try Self.write(records, dir.file("b.vqt"))
        let c = try TraceComparison.compare(a, b)
        let vq1 = try #require(c.queues.first { $0.name == "vda vq1" })
        #expect(vq1.sameRequests && vq1.reorderedShare == 1.0 / 5000)
        #expect(vq1.meanDisplacement == 2.0 / 5000)
        #expect(c.queues[0].reorderedShare == 0 && c.overall.reorderedShare == 1.0 / 10_000)
        #expect(c.answer.contains("0.01% reordered"))
    }

    @Test("every timestamp ×1.1: span +10%, and the IOPS error and correlation the buckets give")
    func slower() throws {
        let dir = ScratchDirectory()
        let records = Self.records()
        let a = try Self.write(records, dir.file("a.vqt"))
        let slow = records.map { r -> TraceRecord in
            var s = r
            s.submitNs = r.submitNs * 11 / 10
            s.completionNs = r.completionNs.map { $0 * 11 / 10 }
            return s
        }
        let b = try Self.write(slow, dir.file("b.vqt"))
        let c = try TraceComparison.compare(a, b)
        let spanA = Double(records.last!.submitNs - records.first!.submitNs), spanB = Double(slow.last!.submitNs - slow.first!.submitNs)
        #expect(abs(c.drift - (spanB / spanA - 1)) < 1e-12 && abs(c.drift - 0.1) < 1e-3)
        // The buckets counted here, independently: submissions per 100 ms from each trace's start.
        func buckets(_ rs: [TraceRecord]) -> [Double] {
            var b = [Double](repeating: 0, count: Int((rs.last!.submitNs - rs.first!.submitNs) / 100_000_000) + 1)
            for r in rs { b[Int((r.submitNs - rs.first!.submitNs) / 100_000_000)] += 1 }
            return b
        }
        let ba = buckets(records), bb = buckets(slow)
        var error = 0.0
        for (i, x) in ba.enumerated() where x > 0 { error += abs((i < bb.count ? bb[i] : 0) - x) / x }
        error /= Double(ba.filter { $0 > 0 }.count)
        #expect(abs(c.overall.iopsError - error) < 1e-9)
        #expect(c.overall.iopsError > 0.08 && c.overall.iopsError < 0.12)
        #expect(c.overall.sameRequests && c.overall.reorderedShare == 0)
        #expect(abs((c.overall.latencyP50Ratio ?? 0) - 1.1) < 0.07)  // the histogram's resolution is 1/16
    }

    @Test("a dropped request is named with its vq; an added one too")
    func dropped() throws {
        let dir = ScratchDirectory()
        var records = Self.records(count: 300)
        let a = try Self.write(records, dir.file("a.vqt"))
        let index = records.indices.filter { records[$0].vq == 1 }[42]
        let gone = records.remove(at: index)
        let b = try Self.write(records, dir.file("b.vqt"))
        let c = try TraceComparison.compare(a, b)
        let vq1 = try #require(c.queues.first { $0.name == "vda vq1" })
        #expect(!vq1.sameRequests && vq1.missing == 1 && vq1.extra == 0)
        #expect(vq1.missingExamples.first == "\(RequestKey(gone)), A's request 42 of the vq")
        #expect(c.answer.hasPrefix("B does not hold A's requests: vda vq1 is missing 1 request (first: \(RequestKey(gone)), A's request 42 of the vq)"))
        #expect(c.queues[0].sameRequests)
        let back = try TraceComparison.compare(b, a)
        #expect(back.queues[1].extra == 1 && back.queues[1].missing == 0)
    }

    @Test("the window bounds memory: a request B issued a window late is settled as missing and extra")
    func window() throws {
        let dir = ScratchDirectory()
        var records = Self.records(count: 2000)
        let a = try Self.write(records, dir.file("a.vqt"))
        // vq 0's first request goes to the end of B (as if issued 2000 positions late).
        let first = records.firstIndex { $0.vq == 0 }!
        var late = records.remove(at: first)
        late.submitNs = records.last!.submitNs
        late.completionNs = late.submitNs + 50_000
        records.append(late)
        let b = try Self.write(records, dir.file("b.vqt"))
        let wide = try TraceComparison.compare(a, b)
        #expect(wide.queues[0].sameRequests && wide.queues[0].reordered > 0)
        let narrow = try TraceComparison.compare(a, b, window: 100)
        #expect(!narrow.queues[0].sameRequests && narrow.queues[0].missing == 1 && narrow.queues[0].extra == 1)
    }

    @Test("traces of different shapes are refused, naming the difference")
    func shapes() throws {
        let dir = ScratchDirectory()
        let a = try Self.write(Self.records(count: 10), dir.file("a.vqt"))
        let other = TraceMetadata(devices: [.init(capacitySectors: 1 << 24, numQueues: 4)], source: .init(kind: "test", name: "x"))
        let writer = try TraceWriter(path: dir.file("b.vqt"), metadata: other)
        try writer.append(TraceRecord(vq: 3, type: .read, sector: 0, length: 4096, submitNs: 0))
        try writer.finish()
        #expect { try TraceComparison.compare(a, try TraceReader(path: dir.file("b.vqt"))) } throws: {
            "\($0)".contains("device vda has 2 vqs in A and 4 in B")
        }
    }
}

extension Comparison.Stream {
    var reordered: Double { reorderedShare }
}
