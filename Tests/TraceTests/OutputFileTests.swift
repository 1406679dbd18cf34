import Catalog
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Trace

/// Output files appear whole or not at all, and never replace what a user has without --force.
@Suite("Output files", .serialized)
struct OutputFileTests {
    /// The bytes of a file, for before-and-after comparisons.
    static func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test("two writers of one name: one publishes a whole trace, the other fails; nothing is torn")
    func concurrentGenerate() throws {
        let dir = ScratchDirectory()
        let catalog = dir.file("catalog.sqlite")
        let out = dir.file("same.vqt")
        let arguments = ["generate", "--workload", "fio", "--numjobs", "8", "--duration", "1s", "--capacity", "1g", "--out", out, "--catalog", catalog]
        let group = DispatchGroup()
        let results = Mutex([ChildResult]())
        let folder = dir.path
        for seed in ["1", "2"] {
            group.enter()
            DispatchQueue.global().async {
                let result = try? runChild(vqtraceExecutable(), arguments + ["--seed", seed], in: folder, mergingStandardError: true)
                if let result { results.withLock { $0.append(result) } }
                group.leave()
            }
        }
        group.wait()
        let finished = results.withLock { $0 }
        #expect(finished.count == 2)
        let succeeded = finished.filter { $0.status == 0 }
        let failed = finished.filter { $0.status != 0 }
        #expect(succeeded.count == 1, "\(finished.map(\.text))")
        #expect(failed.count == 1)
        #expect(failed.allSatisfy { $0.text.contains("is being written by another process") || $0.text.contains("exists; pass --force") },
                "\(failed.map(\.text))")
        let reader = try TraceReader(path: out)
        #expect(reader.isComplete)
        #expect(reader.verify().isClean)
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
        let traces = try TraceCatalog(path: catalog).traces()
        #expect(traces.count == 1 && traces[0].complete && UInt64(traces[0].records) == reader.totals.records)
    }

    @Test("a trace is replaced only with --force, and then it gets a new catalog id while old runs keep theirs")
    func replaceNeedsForce() throws {
        let dir = ScratchDirectory()
        let catalog = dir.file("catalog.sqlite")
        let out = dir.file("t.vqt")
        let base = ["generate", "--workload", "fio", "--duration", "200ms", "--capacity", "64m", "--out", out, "--catalog", catalog]
        let first = try runVQTrace(base + ["--seed", "1"], in: dir.path)
        #expect(first.status == 0, "\(first.output)")
        let replay = try runVQTrace(["replay", "t", "--backend", "null", "--timing", "afap", "--catalog", catalog], in: dir.path)
        #expect(replay.status == 0, "\(replay.output)")
        let before = Self.contents(out)

        let refused = try runVQTrace(base + ["--seed", "2"], in: dir.path)
        #expect(refused.status == 2)
        #expect(refused.output.contains("\(out) exists; pass --force to replace it"))
        #expect(Self.contents(out) == before)

        let forced = try runVQTrace(base + ["--seed", "2", "--force"], in: dir.path)
        #expect(forced.status == 0, "\(forced.output)")
        #expect(forced.output.contains("catalogued as trace 2"))
        #expect(forced.output.contains("it replaces trace 1"))
        #expect(Self.contents(out) != before)
        let open = try TraceCatalog(path: catalog)
        #expect(try open.traces().map(\.id) == [2])
        let run = try #require(try open.rows("SELECT traceId, tracePath, traceFingerprint FROM run").first)
        #expect(run["traceId"] == "NULL" && run["tracePath"] == out)
        let newFingerprint = try open.traces().first?.fingerprint
        #expect(run["traceFingerprint"] != "NULL" && run["traceFingerprint"] != newFingerprint)

        // The same file registered again keeps its id.
        #expect(try open.register(tracePath: out).id == 2)
    }

    @Test("import makes the output folder, checks the name before reading, and leaves nothing when interrupted")
    func importFolderAndInterrupt() throws {
        let dir = ScratchDirectory()
        var log = "fio version 3 iolog\n0 db add\n0 db open\n"
        log.reserveCapacity(80 << 20)
        for i in 0..<1_000_000 { log += "\(i * 10) db read \((i * 7919 % 100_000) * 4096) 4096\n" }
        let input = dir.write("db.log", log)

        // A folder that does not exist yet is made.
        let made = try runVQTrace(["import", input, "--queues", "2", "--out", dir.file("new/folder/db.vqt"), "--no-catalog"], in: dir.path)
        #expect(made.status == 0, "\(made.output)")
        #expect(try TraceReader(path: dir.file("new/folder/db.vqt")).totals.records == 1_000_000)

        // An existing output is refused before any input is read (the missing input is not
        // even noticed) and is left as it was.
        let before = Self.contents(dir.file("new/folder/db.vqt"))
        let again = try runVQTrace(["import", dir.file("missing.log"), "--out", dir.file("new/folder/db.vqt"), "--no-catalog"], in: dir.path)
        #expect(again.status == 2 && again.output.contains("exists; pass --force"), "\(again.output)")
        #expect(Self.contents(dir.file("new/folder/db.vqt")) == before)
        // A missing input is the command line's mistake (exit 2, as replay's missing trace is),
        // named, and leaves no output.
        let missing = try runVQTrace(["import", dir.file("missing.log"), "--out", dir.file("other.vqt"), "--no-catalog"], in: dir.path)
        #expect(missing.status == 2 && missing.output.contains("missing.log: cannot open for reading: No such file or directory"), "\(missing.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("other.vqt")))

        // Interrupted halfway through: exit 130, no trace, no partial file, nothing catalogued.
        let catalog = dir.file("catalog.sqlite")
        let out = dir.file("interrupted.vqt")
        let child = try RunningChild(vqtraceExecutable(), ["import", input, "--out", out, "--catalog", catalog], in: dir.path)
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: out + ".partial") && child.process.isRunning && Date() < deadline { usleep(2000) }
        child.signal(SIGINT)
        let result = child.finish(timeout: 60)
        #expect(result.status == 130, "\(result.text)")
        #expect(result.text.contains("interrupted"))
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
        #expect(try TraceCatalog(path: catalog).traces().isEmpty)
    }

    @Test("a killed writer's partial file is refused as a leftover, recovered by traces repair, and replaced with --force")
    func leftoverPartial() throws {
        let dir = ScratchDirectory()
        let out = dir.file("t.vqt")
        do {
            let writer = try TraceWriter(path: out, metadata: Fixtures.metadata(), options: .init(recordsPerChunk: 100, keepUnfinished: true))
            for record in Fixtures.randomRecords(count: 1000, devices: Fixtures.metadata().devices, seed: 3) { try writer.append(record) }
            #expect(FileManager.default.fileExists(atPath: out + ".partial") && !FileManager.default.fileExists(atPath: out))
            // A second writer while the first still holds the file: busy.
            #expect(throws: TraceWriteError.output(.busy(partialPath: out + ".partial"))) {
                _ = try TraceWriter(path: out, metadata: Fixtures.metadata())
            }
        }  // dropped unfinished here, as a killed writer would leave it

        let leftover = try runVQTrace(["traces", "synth", "--out", out, "--requests", "10", "--no-catalog"], in: dir.path)
        #expect(leftover.status != 0 && leftover.output.contains("left over from a writer that did not finish"), "\(leftover.output)")
        let repaired = try runVQTrace(["traces", "repair", out + ".partial", "--out", dir.file("r.vqt"), "--no-catalog"], in: dir.path)
        #expect(repaired.status == 0, "\(repaired.output)")
        #expect(try TraceReader(path: dir.file("r.vqt")).totals.records == 1000)
        let forced = try runVQTrace(["traces", "synth", "--out", out, "--requests", "10", "--no-catalog", "--force"], in: dir.path)
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try TraceReader(path: out).totals.records == 10)
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
    }

    @Test("publishing refuses a name taken meanwhile, and an abandoned file leaves nothing")
    func publishNoReplace() throws {
        let dir = ScratchDirectory()
        let path = dir.file("x.txt")
        let file = try PartialFile(path: path, replaceExisting: false)
        _ = "mine".withCString { write(file.fd, $0, 4) }
        dir.write("x.txt", "theirs")
        #expect(throws: PartialFileError.exists(path: path)) { try file.publish(sync: false) }
        #expect(String(decoding: Self.contents(path) ?? Data(), as: UTF8.self) == "theirs")
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))

        let abandoned = try PartialFile(path: dir.file("y.txt"), replaceExisting: false)
        abandoned.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["x.txt"])
        #expect(throws: PartialFileError.noFolder(path: dir.file("no/z.txt"), folder: dir.file("no"))) {
            _ = try PartialFile(path: dir.file("no/z.txt"), replaceExisting: false)
        }
    }
}
