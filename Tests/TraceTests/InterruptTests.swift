import Catalog
import Foundation
import Testing
import TestSupport
@testable import Trace

/// SIGINT stops long work at a safe point: what was finished is kept and said, what was not is
/// neither stored nor left on disk, and the command exits 130.
@Suite("Interruptions", .serialized)
struct InterruptTests {
    /// A 2-second open-loop trace: each replay of it takes 2 s on the null backend.
    static func slowTrace(in dir: ScratchDirectory) throws -> String {
        let catalog = dir.file("catalog.sqlite")
        let made = try runVQTrace(["generate", "--workload", "fio", "--numjobs", "2", "--duration", "2s", "--rate-iops", "1000",
                                   "--capacity", "64m", "--out", dir.file("slow.vqt"), "--catalog", catalog], in: dir.path)
        #expect(made.status == 0, "\(made.output)")
        return catalog
    }

    @Test("Ctrl-C in a sweep keeps the finished runs, stores no partial one, says so on a pipe, and exits 130")
    func sweep() throws {
        let dir = ScratchDirectory()
        let catalog = try Self.slowTrace(in: dir)
        let child = try RunningChild(vqtraceExecutable(), ["sweep", "slow", "--backend", "null", "--timing", "open", "--layouts", "single,rr:2",
                                                           "--repeat", "3", "--report", dir.file("r.html"), "--catalog", catalog], in: dir.path)
        #expect(child.waitFor("round 1  single", timeout: 60), "\(child.text)")
        child.signal(SIGINT)
        let result = child.finish(timeout: 60)
        #expect(!result.signalled && result.status == 130, "\(result.text)")
        #expect(result.text.contains("round 1  single"))  // written before the signal, not lost in a buffer
        #expect(result.text.contains("sweep 1 interrupted in round 1 during rr:2, which is not stored: 1 of 6 runs stored (runs 1)"), "\(result.text)")
        #expect(result.text.contains("vqtrace report --sweep 1"))
        let open = try TraceCatalog(path: catalog)
        let runs = try open.rows("SELECT id, layoutSpec, summaryJSON FROM run")
        #expect(runs.count == 1 && runs[0]["layoutSpec"] == "single" && runs[0]["summaryJSON"] != "NULL")
        #expect(!FileManager.default.fileExists(atPath: dir.file("r.html")))
    }

    @Test("Ctrl-C in a replay stores no run and leaves no recording behind")
    func replay() throws {
        let dir = ScratchDirectory()
        let catalog = try Self.slowTrace(in: dir)
        let record = dir.file("replayed.vqt")
        let child = try RunningChild(vqtraceExecutable(), ["replay", "slow", "--backend", "null", "--record", record, "--catalog", catalog], in: dir.path)
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: record + ".partial") && Date() < deadline { usleep(5000) }
        usleep(300_000)
        child.signal(SIGINT)
        let result = child.finish(timeout: 60)
        #expect(!result.signalled && result.status == 130, "\(result.text)")
        #expect(result.text.contains("replay interrupted after") && result.text.contains("the run is not stored"), "\(result.text)")
        #expect(try TraceCatalog(path: catalog).rows("SELECT id FROM run").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: record) && !FileManager.default.fileExists(atPath: record + ".partial"))
    }

    @Test("Ctrl-C while a trace is generated leaves no file")
    func generate() throws {
        let dir = ScratchDirectory()
        let out = dir.file("long.vqt")
        let child = try RunningChild(vqtraceExecutable(), ["generate", "--workload", "oltp", "--duration", "1h", "--capacity", "4g", "--out", out,
                                                           "--catalog", dir.file("c.sqlite")], in: dir.path)
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: out + ".partial") && Date() < deadline { usleep(5000) }
        usleep(200_000)
        child.signal(SIGTERM)
        let result = child.finish(timeout: 60)
        #expect(!result.signalled && result.status == 130, "\(result.text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("long") }.isEmpty)
    }
}
