import Foundation
import Runs
import Testing
import TestSupport
import Trace
import Workload

/// The OLTP model cut to N requests, behind traces synth, the demo and the benchmarks.
@Suite("OLTP samples and model recordings")
struct WorkloadSampleTests {
    @Test("a sample holds exactly N requests in time order, the same for the same seed, on the model's 8 vqs")
    func sample() throws {
        var first: [TraceRecord] = []
        try OLTPSample(requests: 5000, seed: 4).run { first.append($0) }
        var again: [TraceRecord] = []
        try OLTPSample(requests: 5000, seed: 4).run { again.append($0) }
        #expect(first.count == 5000 && first == again)
        #expect(zip(first, first.dropFirst()).allSatisfy { $0.submitNs <= $1.submitNs })
        // The log writer (vq 0) and the users (vqs 2-7); the database writer (vq 1) waits for
        // the first checkpoint, 30 s of model time away.
        #expect(Set(first.map(\.vq)) == Set([0, 2, 3, 4, 5, 6, 7]))
        #expect(first.contains { $0.type == .flush && $0.vq == 0 })
        var other: [TraceRecord] = []
        try OLTPSample(requests: 5000, seed: 5).run { other.append($0) }
        #expect(other != first)
    }

    @Test("--iops rescales the model's clock to that mean rate and keeps its requests")
    func rescaled() throws {
        var natural: [TraceRecord] = []
        try OLTPSample(requests: 40_000, seed: 2).run { natural.append($0) }
        var slow: [TraceRecord] = []
        try OLTPSample(requests: 40_000, seed: 2, iops: 10_000).run { slow.append($0) }
        #expect(slow.map(\.sector) == natural.map(\.sector) && slow.map(\.type) == natural.map(\.type))
        let seconds = Double(slow.last!.submitNs - slow.first!.submitNs) / 1e9
        let rate = Double(slow.count - 1) / seconds
        #expect(abs(rate / 10_000 - 1) < 0.2, "mean rate \(rate)")
        #expect(slow.allSatisfy { ($0.completionNs ?? $0.submitNs) >= $0.submitNs })
        #expect(throws: WorkloadError.self) { try OLTPSample(requests: 0).validate() }
        #expect(throws: WorkloadError.self) { try OLTPSample(requests: 10, iops: 0).validate() }
    }

    @Test("a model recorded through the engine holds what the device saw, and an interrupted one leaves nothing")
    func recording() throws {
        let dir = ScratchDirectory()
        var fio = FioParameters()
        fio.numjobs = 2
        fio.durationSeconds = 0.2
        fio.rateIOPS = 2000
        fio.capacityBytes = 16 << 20
        let recording = ModelRecording(model: .fio(fio), layout: "rr:2", target: nil, backend: .null, depth: 8)
        let outcome = try #require(try recording.record(to: dir.file("r.vqt")))
        let reader = try TraceReader(path: dir.file("r.vqt"))
        #expect(outcome.totals.records == reader.totals.records && reader.totals.records > 500 && outcome.dropped == 0)
        #expect(reader.metadata.source.name == "fio recorded" && reader.metadata.source.parameters["layout"] == "rr:2")
        let stopped = try recording.record(to: dir.file("s.vqt"), shouldStop: { true })
        #expect(stopped == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["r.vqt"])
    }
}
