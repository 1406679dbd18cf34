import Catalog
import Foundation
import Replay
@testable import Report
import Runs
import Testing
import TestSupport
import Trace
import Workload

/// What a sweep refuses or warns about before its first run.
@Suite("Sweep checks before the first run")
struct SweepChecksTests {
    static func devices(_ queues: [UInt16]) -> [TraceMetadata.Device] {
        queues.enumerated().map { TraceMetadata.Device(name: "vd\($0.offset)", capacitySectors: 1 << 21, numQueues: $0.element) }
    }

    @Test("a layout named twice, or two spellings of one mapping, is a usage mistake")
    func duplicateLayouts() throws {
        let four = Self.devices([4])
        #expect { try Sweep.checkDistinct(["single", "single"], devices: four) } throws: {
            ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("--layouts names a layout twice: single")
        }
        #expect { try Sweep.checkDistinct(["single", "rr:2", "rr:1"], devices: four) } throws: {
            ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("single and rr:1 put the same vqs on the same IOThreads")
        }
        #expect { try Sweep.checkDistinct(["per-vq", "rr:4"], devices: four) } throws: { "\($0)".contains("per-vq and rr:4") }
        try Sweep.checkDistinct(["single", "rr:2", "rr:4", "per-vq"], devices: Self.devices([8]))
        // QEMU's own spelling of rr:2 is rr:2; rr:3 is another mapping.
        #expect(throws: ReplayError.self) { try Sweep.checkDistinct(["rr:2", #"qemu:[{"iothread":"a"},{"iothread":"b"}]"#], devices: four) }
        try Sweep.checkDistinct(["rr:2", "rr:3"], devices: four)
        // A trace of one vq per device serves every layout alike, which the sweep says; only a
        // repeated spelling is refused there.
        try Sweep.checkDistinct(["single", "rr:2", "per-vq"], devices: Self.devices([1]))
        #expect(throws: ReplayError.self) { try Sweep.checkDistinct(["per-vq", "per-vq"], devices: Self.devices([1])) }
        // The default layouts drop the one that repeats another: per-vq is rr:2 on 2 vqs.
        #expect(Sweep.defaultLayouts(for: Self.devices([2])) == ["single", "rr:2"])
        #expect(Sweep.defaultLayouts(for: Self.devices([8])) == ["single", "rr:2", "per-vq"])
        #expect(Sweep.defaultLayouts(for: Self.devices([1])) == ["single", "rr:2", "per-vq"])
    }

    @Test("a sweep with duplicate layouts fails before the sweep row exists; --repeat below 3 warns that the verdict will likely be inconclusive")
    func checkedInSweep() throws {
        let dir = ScratchDirectory()
        let path = dir.file("t.vqt")
        _ = try OLTPSample(requests: 2000, iops: 30_000, capacityBytes: 64 << 20).write(to: path)
        let catalog = try TraceCatalog(path: dir.file("catalog.sqlite"))
        var options = ReplayOptions()
        options.timing = .afap
        let duplicate = Sweep(tracePath: path, traceId: nil, layouts: ["single", "rr:1"], repeats: 1, target: nil, backend: .null, options: options)
        #expect(throws: ReplayError.self) { try duplicate.run(in: catalog) }
        #expect(try catalog.sweeps().isEmpty)

        let few = Sweep(tracePath: path, traceId: nil, layouts: ["single", "rr:2"], repeats: 2, target: nil, backend: .null, options: options)
        var said: [String] = []
        let reported = try few.runAndReport(in: catalog, title: "t", htmlPath: dir.file("r.html"), say: { said.append($0) })
        #expect(said.first?.hasPrefix("warning: --repeat 2 gives 2 runs per layout") == true)
        // A sweep it suggests runs into the same catalog and writes the same report (whether this
        // verdict suggests one depends on the spread these runs had).
        let input = try #require(reported.model?.input)
        #expect(input.catalogArgument == dir.file("catalog.sqlite") && input.reportPath == dir.file("r.html"))
        let next = SweepCommandLine.make(input, layouts: ["single", "rr:2"], repeats: 3)
        #expect(next.contains("--repeat 3") && next.contains("--catalog \(SweepCommandLine.shellQuoted(dir.file("catalog.sqlite")))")
                && next.contains("--report \(SweepCommandLine.shellQuoted(dir.file("r.html")))"), "\(next)")
        #expect(said.first?.contains("the verdict will likely be inconclusive; use --repeat 3 or more") == true)
        var enough = few
        enough.repeats = 3
        said = []
        _ = try enough.runAndReport(in: catalog, title: "t", htmlPath: dir.file("r.html"), say: { said.append($0) })
        #expect(!said.contains { $0.contains("likely be inconclusive") })
    }

    @Test("a sweep stores its command line, and a report file that is not a vqtrace report stops it before the first run")
    func commandLineAndReportCheck() throws {
        let dir = ScratchDirectory()
        let path = dir.file("t.vqt")
        _ = try OLTPSample(requests: 2000, iops: 30_000, capacityBytes: 64 << 20).write(to: path)
        let catalog = try TraceCatalog(path: dir.file("catalog.sqlite"))
        var sweep = Sweep(tracePath: path, traceId: nil, layouts: ["single", "rr:2"], repeats: 1, target: nil, backend: .null, options: ReplayOptions())
        sweep.commandLine = ["sweep", path, "--layouts", "single,rr:2", "--repeat", "1", "--backend", "null", "--report", "my report.html"]
        try "notes".write(toFile: dir.file("mine.md"), atomically: false, encoding: .utf8)
        #expect(throws: ReportFileError.notAReport(path: dir.file("mine.md"))) {
            try sweep.runAndReport(in: catalog, title: "t", htmlPath: dir.file("mine.html"), say: { _ in })
        }
        #expect(try catalog.sweeps().isEmpty)
        let done = try sweep.runAndReport(in: catalog, title: "t", htmlPath: dir.file("r.html"), say: { _ in })
        let stored = try SweepParameters.decode(try #require(try catalog.sweep(id: done.outcome.sweepId)).parametersJSON)
        #expect(stored.commandLine == "vqtrace sweep \(path) --layouts single,rr:2 --repeat 1 --backend null --report 'my report.html'")
        #expect(try #require(done.model).markdown().contains(stored.commandLine!))
    }

    @Test("replay output says what its latency (clat) measures")
    func clatDefined() throws {
        let dir = ScratchDirectory()
        let path = dir.file("t.vqt")
        _ = try OLTPSample(requests: 500, iops: 30_000, capacityBytes: 64 << 20).write(to: path)
        var options = ReplayOptions()
        options.timing = .afap
        let result = try ReplayRunner.run(tracePath: path, target: nil, layoutSpec: "single", backend: .null, options: options, safety: nil)
        let lines = ReplayText.lines(result, tracePath: path, layout: "single", backend: .null, options: options, target: nil)
        let clat = try #require(lines.firstIndex { $0.contains("clat p50") })
        #expect(lines[(clat + 1)...].contains { $0.contains("(clat: from the kick that makes a request visible to the device until its driver reaps the completion") })
    }
}
