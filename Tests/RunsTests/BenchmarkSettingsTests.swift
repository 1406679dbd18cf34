import Benchmarks
import Foundation
import Testing
import TestSupport
import VhostUser

/// `vqtrace bench`'s checks live in the library: each names the option a user mistyped.
@Suite struct BenchmarkSettingsTests {
    @Test func defaultsPass() throws {
        try BenchmarkCounts().check()
        try EngineBenchmark(target: nil, sizeBytes: 1 << 30, backend: .null, vqs: 8, layoutSpec: "single", rw: .randread,
                            blockSize: 4096, depth: 32, seconds: 1).check()
    }

    @Test(arguments: [
        (BenchmarkCounts(repeats: 0), "--repeats must be 1...1000, not 0"),
        (BenchmarkCounts(queueSize: 100), "--queue-size must be a power of two in 2...32768, not 100"),
        (BenchmarkCounts(queueSize: 65536), "--queue-size must be 2...32768, not 65536"),
        (BenchmarkCounts(competingLoad: -1), "--competing-load must be 0...64, not -1"),
        (BenchmarkCounts(windowRequests: Int.max), "--window-requests must be 0...10000000000, not \(Int.max)"),
    ])
    func countOutOfRangeNamesTheOption(counts: BenchmarkCounts, message: String) {
        #expect(throws: BenchmarkSettingError(message)) { try counts.check() }
    }

    @Test func engineSettingsNameTheOption() {
        func bench(_ change: (inout EngineBenchmark) -> Void) -> EngineBenchmark {
            var b = EngineBenchmark(target: "/tmp/x", sizeBytes: 1 << 30, backend: .ioUring, vqs: 1, layoutSpec: "single", rw: .randread,
                                    blockSize: 4096, depth: 32, seconds: 1)
            change(&b)
            return b
        }
        #expect(throws: BenchmarkSettingError("--backend io_uring needs --target FILE (a file under /tmp is fine)")) { try bench { $0.target = nil }.check() }
        #expect(throws: BenchmarkSettingError("--bs must be a multiple of 512 up to 1m, not 0")) { try bench { $0.blockSize = 0 }.check() }
        #expect(throws: BenchmarkSettingError("--qd must be 1...1024, not 2000")) { try bench { $0.depth = 2000 }.check() }
        #expect(throws: BenchmarkSettingError("--vqs must be 1...1024, not 0")) { try bench { $0.vqs = 0 }.check() }
        #expect(throws: BenchmarkSettingError("--rwmixread must be 0...100, not 101")) { try bench { $0.rwmixread = 101 }.check() }
        #expect(throws: BenchmarkSettingError("--size must be at least --bs (1048576 bytes)")) { try bench { $0.blockSize = 1 << 20; $0.sizeBytes = 4096 }.check() }
        #expect(throws: (any Error).self) { try bench { $0.sizeBytes = (1 << 20) + 1 }.check() }
        #expect(throws: BenchmarkSettingError("bench names qemu-storage-daemon as a back-end: --back-ends qsd (or engine,qsd to run both, interleaved)")) {
            try bench { $0.backend = .qsd }.check()
        }
        #expect(throws: BenchmarkSettingError("--back-ends serve needs --target FILE: it serves that file")) { try bench { $0.target = nil; $0.backEnd = .serve }.check() }
        #expect(throws: BenchmarkSettingError("--back-ends qsd serves a target: --backend null has none")) { try bench { $0.backend = .null; $0.backEnd = .qemuStorageDaemon }.check() }
        // A layout qemu-storage-daemon 7.2 cannot express is refused before anything runs.
        #expect(throws: BenchmarkSettingError.self) { try bench { $0.vqs = 4; $0.layoutSpec = "rr:2"; $0.backEnd = .qemuStorageDaemon }.check() }
        #expect(throws: BenchmarkSettingError("--submit-batch must be 0...32768, not -1")) { try bench { $0.submitBatch = -1 }.check() }
        #expect(throws: BenchmarkSettingError("--submit-batch sets the engine's own IOThreads; the qsd back-end submits its own way: run --submit-batch without --back-ends, or with --back-ends engine")) {
            try bench { $0.submitBatch = 8; $0.backEnd = .qemuStorageDaemon }.check()
        }
        #expect(throws: Never.self) { try bench { $0.submitBatch = 8 }.check() }
        // A socket's back-end owns its disk: no --target needed.
        #expect(throws: Never.self) { try bench { $0.target = nil; $0.backEnd = .socket("/run/x.sock") }.check() }
    }

    @Test("--back-ends names engine, serve, qsd or vhost-user:SOCKET, each once")
    func backEndList() throws {
        #expect(try VhostUserBackEndChoice.parseList("engine, serve,qsd,vhost-user:/run/x.sock") == [nil, .serve, .qemuStorageDaemon, .socket("/run/x.sock")])
        #expect(try VhostUserBackEndChoice.parseList("qsd").map { $0?.label } == ["qsd"])
        for (bad, says) in [("engine,engine", "names engine twice"), ("", "names no back-end"), ("spdk", "spdk is not a back-end"), ("vhost-user:", "needs the socket's path")] {
            let error = #expect(throws: VhostUserFrontEndError.self) { _ = try VhostUserBackEndChoice.parseList(bad) }
            #expect(error?.isUsage == true && error?.description.contains(says) == true, "\(bad): \(error?.description ?? "")")
        }
        // Run rows name their back-end at length; reports label them short.
        #expect(VhostUserBackEndChoice.label(ofStored: "qemu-storage-daemon version 7.2.22: /usr/bin/qemu-storage-daemon --object …") == "qsd")
        #expect(VhostUserBackEndChoice.label(ofStored: "vqtrace serve (in-process): vqtrace serve --socket /tmp/s") == "serve")
        #expect(VhostUserBackEndChoice.label(ofStored: "vhost-user /run/x.sock") == "vhost-user /run/x.sock")
        #expect(VhostUserBackEndChoice.label(ofStored: "io_uring") == nil && VhostUserBackEndChoice.label(ofStored: "null") == nil)
    }

    @Test("--back-ends engine,serve runs both in interleaved rounds on the same file, each measured, with the ratio to the first")
    func backEndRounds() throws {
        let dir = ScratchDirectory()
        var bench = EngineBenchmark(target: dir.file("disk.img"), sizeBytes: 16 << 20, backend: .ioUring, vqs: 2, layoutSpec: "single", rw: .randrw,
                                    blockSize: 4096, depth: 8, seconds: 0.5)
        bench.pin = .none
        let contenders = EngineBenchmark.Contenders(backEnds: [nil, .serve], fio: false)
        let rounds = try bench.rounds(2, contenders: contenders)
        #expect(rounds.count == 2 && rounds.allSatisfy { $0.count == 2 })
        for (r, round) in rounds.enumerated() {
            for (c, run) in round.enumerated() {
                // Real work in each run, not a rate: with a build running beside the tests on 2
                // cores, a request of the first round has waited 0.9 s (p99 914 ms, 45 IOPS).
                #expect(run.iops > 10 && run.failures.isEmpty, "round \(r + 1), \(contenders.names[c]): \(run)")
                #expect((run.p50Ns ?? 0) > 0 && (run.p99Ns ?? 0) >= (run.p50Ns ?? 0))
            }
        }
        // A socket nobody listens on is found before the target is made or any round runs.
        var elsewhere = bench
        elsewhere.target = dir.file("other.img")
        #expect(throws: (any Error).self) { _ = try elsewhere.rounds(1, contenders: .init(backEnds: [nil, .socket(dir.file("none.sock"))], fio: false)) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("other.img")))
        let report = try bench.backEndReport(rounds: 1, contenders: contenders)
        #expect(report.text.contains("filled with data") || report.text.contains("file created by vqtrace"), "the target line is missing: \(report.text)")
        #expect(!report.failed && report.text.contains("engine vs serve") && report.text.contains("÷ engine"))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        let figures = try #require(document["contenders"] as? [[String: Any]])
        #expect(figures.map { $0["name"] as? String } == ["engine", "serve"])
        #expect((figures[0]["median_ratio_to_first"] as? Double) == 1)
        #expect(((figures[1]["median_iops"] as? Double) ?? 0) > 100)
    }

    @Test("--pairs alternates which goes first and measures both sides of every pair (null backend, fio's null engine)")
    func pairsAlternate() throws {
        let bench = EngineBenchmark(target: nil, sizeBytes: 1 << 30, backend: .null, vqs: 1, layoutSpec: "single", rw: .randread,
                                    blockSize: 4096, depth: 8, seconds: 1)
        let pairs = try bench.pairs(2)
        #expect(pairs.map(\.engineFirst) == [true, false])
        for p in pairs {
            #expect(p.engineIOPS > 1000 && p.fioIOPS > 1000, "vqtrace \(p.engineIOPS), fio \(p.fioIOPS)")
            #expect(p.ratio == p.engineIOPS / p.fioIOPS)
            #expect(p.failures.isEmpty)
            #expect(p.cycles.count == 1)
            #expect(p.driverInFlight > 0 && p.driverInFlight <= 8)
            // fio's lat (what the engine's kick-to-reap latency is set beside) includes its
            // submission call, which its clat leaves out: never shorter.
            let lat = try #require(p.fioLatP50Ns), clat = try #require(p.fioP50Ns)
            #expect(lat >= clat, "fio lat p50 \(lat) ns, clat p50 \(clat) ns")
        }
        let report = try bench.pairedReport(pairs: 1)
        #expect(report.text.contains("median vqtrace/fio"))
        #expect(report.text.contains("fio lat p50"))
        #expect(report.json.contains("\"median_ratio\""))
        #expect(report.json.contains("\"fio_lat_ns_p50\""))
    }
}
