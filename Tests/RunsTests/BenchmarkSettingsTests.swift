import Benchmarks
import Testing

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
        #expect(throws: BenchmarkSettingError("bench does not drive qemu-storage-daemon yet; `vqtrace replay TRACE --backend qsd --target FILE` does")) {
            try bench { $0.backend = .qsd }.check()
        }
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
        }
        let report = try bench.pairedReport(pairs: 1)
        #expect(report.text.contains("median vqtrace/fio"))
        #expect(report.json.contains("\"median_ratio\""))
    }
}
