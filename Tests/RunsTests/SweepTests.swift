import Catalog
import Engine
import Foundation
import Layout
import Replay
import Report
import Runs
import Synchronization
import Testing
import TestSupport
import Trace
import VhostUser
import Workload

/// Sweeps, stored runs and reports through the library, in this process.
@Suite("Sweeps and stored runs in process")
struct SweepTests {
    /// A small 8-vq trace of the OLTP model and a catalog beside it.
    static func fixture(_ dir: ScratchDirectory, requests: Int = 3000, iops: Double? = 30_000) throws -> (trace: String, catalog: TraceCatalog) {
        let path = dir.file("t.vqt")
        _ = try OLTPSample(requests: requests, iops: iops, capacityBytes: 64 << 20).write(to: path)
        return (path, try TraceCatalog(path: dir.file("catalog.sqlite")))
    }

    @Test("a sweep stores every run under its id, interleaved, says each as an event, and its report loads from the catalog")
    func wholeSweep() throws {
        let dir = ScratchDirectory()
        let (trace, catalog) = try Self.fixture(dir)
        var options = ReplayOptions()
        options.timing = .afap
        let sweep = Sweep(tracePath: trace, traceId: nil, layouts: ["single", "rr:2"], repeats: 2, target: nil, backend: .null, options: options)
        var events: [String] = []
        let outcome = try sweep.run(in: catalog, events: { event in
            if case .stored(let round, let label, _, let id, _) = event { events.append("\(round) \(label) \(id)") }
            if case .started(let id, let planned) = event { events.append("started \(id) \(planned)") }
        })
        #expect(outcome.isComplete && !outcome.interrupted && outcome.runIds == [1, 2, 3, 4] && outcome.planned == 4)
        #expect(events == ["started 1 4", "1 single 1", "1 rr:2 2", "2 single 3", "2 rr:2 4"])
        let runs = try catalog.runs(sweepId: outcome.sweepId)
        #expect(runs.map(\.layoutSpec) == ["single", "rr:2", "single", "rr:2"] && runs.allSatisfy(\.isFinished))
        let summary = try RunSummary.decode(try #require(runs[0].summaryJSON))
        #expect(summary.requests == 3000 && summary.replayed == 3000 && summary.read.ios + summary.write.ios + 0 <= 3000)
        #expect(summary.targetPreparation?.kind == .null)
        #expect(try catalog.queues(ofRun: runs[0].id).count == 8)
        #expect(try catalog.iothreads(ofRun: runs[1].id).map(\.name) == ["iothread1", "iothread2"])
        #expect(try catalog.timeline(ofRun: runs[0].id).reduce(0, +) == 3000)

        let plan = try ReportLoader.plan(sweepId: outcome.sweepId, catalog: catalog)
        #expect(plan.layouts == ["single", "rr:2"] && plan.repeats == 2)
        let input = try ReportLoader.load(sweepId: outcome.sweepId, catalog: catalog, title: "t", baseline: nil)
        #expect(input.runs.count == 4 && input.devices.map(\.numQueues) == [8] && input.devices.first?.capacityBytes == 64 << 20)
        #expect(input.host.contains { $0.0 == "target preparation" && $0.1.hasPrefix("target: none (null backend") })
        #expect(input.notes.isEmpty)
        #expect(try ReportModel(input).outcome != .incomplete)
    }

    @Test("a sweep stopped after its first run keeps that run, stores no other, and its report is incomplete")
    func stoppedSweep() throws {
        let dir = ScratchDirectory()
        let (trace, catalog) = try Self.fixture(dir, requests: 20_000, iops: 20_000)
        var options = ReplayOptions()
        options.timing = .open
        let sweep = Sweep(tracePath: trace, traceId: nil, layouts: ["single", "rr:2"], repeats: 3, target: nil, backend: .null, options: options)
        let stored = Atomic<Int>(0)
        let outcome = try sweep.run(in: catalog, events: { event in
            if case .stored = event { stored.add(1, ordering: .relaxed) }
        }, shouldStop: { stored.load(ordering: .relaxed) >= 1 })
        #expect(outcome.interrupted && !outcome.isComplete && outcome.runIds == [1])
        #expect(outcome.description.contains("interrupted in round 1 during rr:2, which is not stored: 1 of 6 runs stored (runs 1)"))
        #expect(try catalog.runs(sweepId: outcome.sweepId).count == 1)
        let model = try ReportModel(try ReportLoader.load(sweepId: outcome.sweepId, catalog: catalog, title: "t", baseline: nil))
        #expect(model.outcome == .incomplete && model.recommendation == nil)
    }

    @Test("every run whose schedule was not kept is marked in the report (HTML row, Markdown list, JSON ids); the driver threads are stored")
    func scheduleNotKeptIsMarked() throws {
        let dir = ScratchDirectory()
        let (trace, catalog) = try Self.fixture(dir, requests: 2000, iops: 40_000)
        var options = ReplayOptions()
        options.timing = .open
        options.driverThreads = .count(2)
        // No host keeps a schedule within 1 ns: every run is marked.
        options.latenessWarnNs = 1
        let sweep = Sweep(tracePath: trace, traceId: nil, layouts: ["single", "rr:2"], repeats: 1, target: nil, backend: .null, options: options)
        let outcome = try sweep.run(in: catalog)
        let runs = try catalog.runs(sweepId: outcome.sweepId)
        let summary = try RunSummary.decode(try #require(runs[0].summaryJSON))
        #expect(summary.scheduleMissed == true && summary.driverThreads == DriverThreadFigures(setting: "2", threads: 2))
        let model = try ReportModel(try ReportLoader.load(sweepId: outcome.sweepId, catalog: catalog, title: "t", baseline: nil))
        #expect(model.input.runs.allSatisfy(\.scheduleMissed) && model.input.runs.allSatisfy { $0.latenessP99Ns != nil })
        let html = model.html()
        #expect(html.components(separatedBy: "NOT KEPT").count - 1 == runs.count)
        #expect(model.markdown().contains("## Runs whose schedule was not kept"))
        #expect((model.json()["schedule_missed_runs"] as? [Int64]) == runs.map(\.id))

        // A schedule kept within an hour is kept: nothing marked.
        options.latenessWarnNs = 3_600_000_000_000
        let kept = try Sweep(tracePath: trace, traceId: nil, layouts: ["single"], repeats: 1, target: nil, backend: .null, options: options).run(in: catalog)
        let keptModel = try ReportModel(try ReportLoader.load(sweepId: kept.sweepId, catalog: catalog, title: "t", baseline: nil))
        #expect(!keptModel.html().contains("NOT KEPT") && keptModel.html().contains("kept ("))
        #expect(!keptModel.markdown().contains("schedule was not kept"))
    }

    @Test("bad layouts and options are refused before the sweep row exists")
    func checksFirst() throws {
        let dir = ScratchDirectory()
        let (trace, catalog) = try Self.fixture(dir)
        var options = ReplayOptions()
        options.depth = 0
        let bad = Sweep(tracePath: trace, traceId: nil, layouts: ["single", "rr:0"], repeats: 1, target: nil, backend: .null, options: ReplayOptions())
        #expect { try bad.run(in: catalog) } throws: { ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("layout rr:0") }
        let depth = Sweep(tracePath: trace, traceId: nil, layouts: ["single"], repeats: 1, target: nil, backend: .null, options: options)
        #expect { try depth.run(in: catalog) } throws: { "\($0)".contains("--qd must be 1...1024") }
        // A sweep names qemu-storage-daemon as a back-end beside the engine, not as the engine's backend.
        let qsd = Sweep(tracePath: trace, traceId: nil, layouts: ["single"], repeats: 1, target: dir.file("d.img"), backend: .qsd, options: ReplayOptions())
        #expect { try qsd.run(in: catalog) } throws: { ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("--back-ends engine,qsd") }
        // qemu-storage-daemon 7.2 serves an export from one IOThread: rr:2 is refused, not measured as something else.
        var twoThreads = Sweep(tracePath: trace, traceId: nil, layouts: ["single", "rr:2"], repeats: 1, target: dir.file("d.img"), backend: .ioUring, options: ReplayOptions())
        twoThreads.backEnds = [nil, .qemuStorageDaemon]
        #expect { try twoThreads.run(in: catalog) } throws: { ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("one IOThread") }
        var copies = Sweep(tracePath: trace, traceId: nil, layouts: ["single"], repeats: 1, vmCounts: [1, 2], target: dir.file("d.img"), backend: .ioUring, options: ReplayOptions())
        copies.backEnds = [nil, .serve]
        #expect { try copies.run(in: catalog) } throws: { ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("--vms must be 1") }
        var recorded = Sweep(tracePath: trace, traceId: nil, layouts: ["single"], repeats: 1, target: dir.file("d.img"), backend: .ioUring, options: ReplayOptions())
        recorded.backEnds = [.serve]
        recorded.recordDirectory = dir.file("rec")
        #expect { try recorded.run(in: catalog) } throws: { ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("--record-dir") }
        // A back-end someone else started is reached before the target is prepared or a sweep row made.
        var unreachable = Sweep(tracePath: trace, traceId: nil, layouts: ["single"], repeats: 1, target: dir.file("d.img"), backend: .ioUring, options: ReplayOptions())
        unreachable.backEnds = [nil, .socket(dir.file("none.sock"))]
        #expect { try unreachable.run(in: catalog) } throws: { "\($0)".contains("cannot connect") && "\($0)".contains("--back-ends vhost-user") }
        var noTarget = Sweep(tracePath: trace, traceId: nil, layouts: ["single"], repeats: 1, target: nil, backend: .ioUring, options: ReplayOptions())
        noTarget.backEnds = [nil, .serve]
        #expect { try noTarget.run(in: catalog) } throws: { ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("need --target") }
        #expect(!FileManager.default.fileExists(atPath: dir.file("d.img")), "a refused sweep prepared its target")
        #expect(try catalog.sweep(id: 1) == nil)
    }

    @Test("a sweep over back-ends runs every layout on each, stores them as their own configurations, and the report puts them side by side")
    func backEndsSideBySide() throws {
        let dir = ScratchDirectory()
        let (trace, catalog) = try Self.fixture(dir, requests: 2000)
        var options = ReplayOptions()
        options.timing = .afap
        var sweep = Sweep(tracePath: trace, traceId: nil, layouts: ["single"], repeats: 2, target: dir.file("d.img"), backend: .ioUring, options: options)
        sweep.backEnds = [nil, .serve]
        var stored: [String] = []
        let outcome = try sweep.run(in: catalog, events: { event in
            if case .stored(let round, let label, let result, _, _) = event {
                stored.append("\(round) \(label)")
                #expect(result.engine.failures.isEmpty && result.engine.requests == 2000, "\(label): \(result.engine.failures)")
            }
        })
        #expect(outcome.isComplete && outcome.planned == 4, "\(outcome.description)")
        #expect(stored == ["1 single", "1 single via serve", "2 single", "2 single via serve"])
        let runs = try catalog.runs(sweepId: outcome.sweepId)
        #expect(runs.map(\.backend) == ["io_uring", runs[1].backend, "io_uring", runs[3].backend] && runs[1].backend.hasPrefix("vqtrace serve (in-process)"))
        let input = try ReportLoader.load(sweepId: outcome.sweepId, catalog: catalog, title: "t", baseline: nil)
        #expect(input.layouts == ["single", "single via serve"] && input.backend == "io_uring")
        #expect(input.plan?.backEnds == ["engine", "serve"])
        let model = try ReportModel(input)
        #expect(model.verdict.missing.isEmpty && model.results.map(\.spec) == ["single", "single via serve"])
        #expect(model.results[1].change != nil, "the serve runs are compared with the engine's")
        #expect(model.caveats.contains { $0.contains("`single via serve`") })
        // Layouts are compared on the engine; the back-end against the engine's run of its layout.
        #expect(model.answer.contains("Against the engine's own run of the same layout: `single via serve`"), "\(model.answer)")
        #expect(model.outcome == .inconclusive && model.recommendation == nil, "one layout is no layout decision")
        let rows = try #require(model.json()["layouts"] as? [[String: Any]])
        #expect(rows.map { $0["back_end"] as? String } == ["engine", "serve"] && rows.map { $0["layout_spec"] as? String } == ["single", "single"])
        #expect(model.markdown().contains("not measured"), "serve's IOThread CPU is not vqtrace's to measure")
        #expect(model.html().contains(">not measured</text>"), "the CPU chart says so too, instead of a bar of 0")
        // The target line is the sweep's prepared file, whichever back-end ran last.
        #expect(input.host.contains { $0.0 == "target preparation" && $0.1.contains("filled with data") }, "\(input.host)")
        // Serve's socket folders are gone once each run ended.
        let left = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("vqtrace-serve-\(getpid())-") }
        #expect(left.isEmpty, "\(left)")
    }

    @Test("replay --backend qsd refuses a layout qemu-storage-daemon cannot express before it touches the target")
    func qsdLayoutFirst() throws {
        let dir = ScratchDirectory()
        let (trace, catalog) = try Self.fixture(dir)
        let target = dir.file("d.img")
        let replay = ReplayInvocation(trace: .file(trace), traceId: nil, layout: "rr:2", backend: .qsd, target: target, options: ReplayOptions(), safety: nil)
        #expect { try replay.run(storingIn: catalog) } throws: { ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("one IOThread") }
        #expect(!FileManager.default.fileExists(atPath: target), "the target was prepared before the refusal")
        // A recording needs the engine's IOThreads; through vhost-user it would be empty.
        var recorded = ReplayInvocation(trace: .file(trace), traceId: nil, layout: "single", backend: .null, target: nil, options: ReplayOptions(), safety: nil)
        recorded.vhostUser = .socket(dir.file("none.sock"))
        recorded.recordPath = dir.file("seen.vqt")
        #expect { try recorded.run(storingIn: catalog) } throws: { ($0 as? ReplayError)?.isUsage == true && "\($0)".contains("--record") }
        #expect(!FileManager.default.fileExists(atPath: dir.file("seen.vqt")) && !FileManager.default.fileExists(atPath: dir.file("seen.vqt.partial")))
    }

    @Test("a replaced trace file is named in the report of runs that replayed the old one")
    func replacedTrace() throws {
        let dir = ScratchDirectory()
        let (trace, catalog) = try Self.fixture(dir)
        var options = ReplayOptions()
        options.timing = .afap
        let result = try ReplayRunner.run(tracePath: trace, target: nil, layoutSpec: "single", backend: .null, options: options, safety: nil)
        let id = try RunStore.store(result, RunStore.Context(tracePath: trace, traceId: nil, layoutSpec: "single", backend: .null, target: nil,
                                                             options: options), in: catalog)
        #expect(try catalog.run(id: id)?.traceFingerprint == (try TraceReader(path: trace).fingerprint))
        #expect(try ReportLoader.load(runIds: [id], catalog: catalog, title: "t", baseline: nil).notes.isEmpty)
        _ = try OLTPSample(requests: 2000, seed: 9, capacityBytes: 64 << 20).write(to: trace, options: .init(replaceExisting: true))
        let notes = try ReportLoader.load(runIds: [id], catalog: catalog, title: "t", baseline: nil).notes
        #expect(notes.count == 1 && notes[0].contains("is no longer the file these runs replayed"))
    }

    @Test("stored layouts of earlier versions (CPU sets as text, no round-robin flag) still read")
    func oldLayoutJSON() throws {
        let old = #"{"devices":[{"assignment":["iothread0","iothread1"],"name":"vda"}],"iothreads":[{"cpus":"2-3","id":"iothread0","poll_max_ns":null},{"cpus":null,"id":"iothread1","poll_max_ns":16384}]}"#
        let document = try JSONDecoder().decode(LayoutDocument.self, from: Data(old.utf8))
        #expect(document.iothreads.map(\.cpus) == [[2, 3], nil] && document.iothreads[1].pollMaxNs == 16384)
        #expect(document.devices[0].numQueues == 2 && document.devices[0].roundRobin == nil)
        let layout = try LayoutSpec.parse("rr:2", numQueues: 4)
        let back = try JSONDecoder().decode(LayoutDocument.self, from: Data(try LayoutDocument(layout).encoded().utf8))
        #expect(back == LayoutDocument(layout))
    }
}
