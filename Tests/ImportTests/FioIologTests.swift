import Foundation
import Testing
import TestSupport
@testable import Import
@testable import Trace

func readAll(_ path: String) throws -> [TraceRecord] {
    var cursor = try TraceReader(path: path).cursor()
    var out: [TraceRecord] = []
    while let r = try cursor.next() { out.append(r) }
    return out
}

/// Runs fio; returns its JSON job, or nil when fio is not installed.
func runFio(_ arguments: [String], in directory: String) throws -> [String: Any]? {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/fio") else { return nil }
    let data = try runChild("/usr/bin/fio", arguments + ["--output-format=json"], in: directory).output
    guard let brace = data.firstIndex(of: UInt8(ascii: "{")) else { return nil }
    return ((try JSONSerialization.jsonObject(with: data[brace...]) as? [String: Any])?["jobs"] as? [[String: Any]])?.first
}

@Suite("fio iolog import and export")
struct FioIologTests {
    @Test("v3: every line becomes its request, in order, on the right device and vq")
    func v3Golden() throws {
        let dir = ScratchDirectory()
        let log = dir.write("a.log", """
            fio version 3 iolog
            0 /tmp/a add
            0 /tmp/b add
            5 /tmp/a open
            10 /tmp/a read 4096 8192
            12 /tmp/b write 0 512
            12 /tmp/a sync
            30 /tmp/a trim 1048576 65536
            31 /tmp/a close

            """)
        var importer = TraceImporter(format: .fioIolog)
        importer.queues = 2
        let result = try importer.run(paths: [log], out: dir.file("a.vqt"))
        #expect(result.deviceKeys == ["/tmp/a", "/tmp/b"])
        let records = try readAll(dir.file("a.vqt"))
        #expect(records == [
            // Round-robin per device; times rebased to the first request (10 µs).
            TraceRecord(device: 0, vq: 0, type: .read, sector: 8, length: 8192, submitNs: 0),
            TraceRecord(device: 1, vq: 0, type: .write, sector: 0, length: 512, submitNs: 2000),
            TraceRecord(device: 0, vq: 1, type: .flush, sector: 0, length: 0, submitNs: 2000),
            TraceRecord(device: 0, vq: 0, type: .discard, sector: 2048, length: 65536, submitNs: 20_000),
        ])
        let metadata = try TraceReader(path: dir.file("a.vqt")).metadata
        #expect(metadata.source.kind == "import" && metadata.source.parameters["file"] == log)
        #expect(metadata.devices[0].capacitySectors == 2 << 11)  // 1 MiB + 64 KiB, rounded up to 2 MiB
    }

    @Test("v2: wait lines move the clock")
    func v2Golden() throws {
        let dir = ScratchDirectory()
        let log = dir.write("b.log", "fio version 2 iolog\n/dev/x add\n/dev/x open\n/dev/x read 0 4096\n/dev/x wait 250\n/dev/x write 4096 4096\n/dev/x close\n")
        let records = try { () throws -> [TraceRecord] in
            _ = try TraceImporter(format: .fioIolog).run(paths: [log], out: dir.file("b.vqt"))
            return try readAll(dir.file("b.vqt"))
        }()
        #expect(records.map(\.submitNs) == [0, 250_000])
        #expect(records.map(\.type) == [.read, .write])
    }

    @Test("bad input names the file and line; --skip-bad-lines counts; a failed import leaves no file")
    func errors() throws {
        let dir = ScratchDirectory()
        let garbage = dir.write("g.log", "hello\n")
        #expect(throws: ImportError.self) { try TraceImporter(format: .fioIolog).run(paths: [garbage], out: dir.file("g.vqt")) }
        let bad = dir.write("c.log", "fio version 3 iolog\n0 f add\n10 f read 0 4096\n20 f read 4096\n30 f read 100 4096\n25 f read 0 4096\n40 f frobnicate 0 4096\n")
        let error = #expect(throws: ImportError.self) { try TraceImporter(format: .fioIolog).run(paths: [bad], out: dir.file("c.vqt")) }
        #expect(error?.description == "\(bad):4: read needs OFFSET LENGTH")
        #expect(!FileManager.default.fileExists(atPath: dir.file("c.vqt")))
        var lenient = TraceImporter(format: .fioIolog)
        lenient.skipBadLines = true
        let result = try lenient.run(paths: [bad], out: dir.file("c.vqt"))
        // Skipped: the length-less line, the unaligned one and the unknown action; "25" is after the
        // last request kept (10), so it stays.
        #expect(result.skippedLines == 3 && result.totals.records == 2)
        // Each problem has its own words.
        for (line, words) in [("30 f read 100 4096", "multiples of 512"), ("5 f read 0 4096", "before the previous"), ("40 f frobnicate 0 4096", "unknown action")] {
            let log = dir.write("d.log", "fio version 3 iolog\n10 f read 0 4096\n\(line)\n")
            let e = #expect(throws: ImportError.self) { try TraceImporter(format: .fioIolog).run(paths: [log], out: dir.file("d.vqt")) }
            #expect(e?.description.contains(":3: ") == true && e?.description.contains(words) == true, "\(e?.description ?? "")")
        }
    }

    @Test("export refuses file names that do not fit the trace, before writing anything")
    func exportFileNames() throws {
        let dir = ScratchDirectory()
        let log = dir.write("two.log", """
            fio version 3 iolog
            0 /tmp/a add
            0 /tmp/b add
            1 /tmp/a read 0 4096
            2 /tmp/b write 4096 4096

            """)
        _ = try TraceImporter(format: .fioIolog).run(paths: [log], out: dir.file("two.vqt"))
        for (names, words) in [([], "2 device(s)"), (["a"], "2 device(s)"), (["a", "b", "c"], "3 given"), (["a", ""], "\"\""), (["a", "my disk"], "\"my disk\"")] {
            let out = dir.file("x.iolog")
            let e = #expect(throws: ImportError.self) { try FioIologExporter.export(tracePath: dir.file("two.vqt"), out: out, fileNames: names) }
            #expect(e?.description.contains(words) == true, "\(names): \(e?.description ?? "")")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        #expect(try FioIologExporter.export(tracePath: dir.file("two.vqt"), out: dir.file("ok.iolog"), fileNames: ["a.bin", "b.bin"]).written == 2)
        let text = try String(contentsOfFile: dir.file("ok.iolog"), encoding: .utf8)
        #expect(text.contains(" a.bin read 0 4096\n") && text.contains(" b.bin write 4096 4096\n"))
    }

    @Test("cross-check with fio: its own --write_iolog imports to the same requests, and the export replays in fio with the same counts",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/fio"), "needs fio (make deps installs it)"))
    func fioRoundTrip() throws {
        let dir = ScratchDirectory()
        _ = try runFio(["--name=x", "--filename=data.bin", "--size=16M", "--rw=randrw", "--bs=4k", "--io_size=2M", "--write_iolog=x.log", "--ioengine=psync"], in: dir.path)
        let lines = try String(contentsOfFile: dir.file("x.log"), encoding: .utf8).split(separator: "\n").dropFirst()
        let expected = lines.compactMap { line -> String? in
            let f = line.split(separator: " ")
            guard f.count == 5, f[2] == "read" || f[2] == "write" else { return nil }
            return "\(f[2]) \(f[3]) \(f[4])"
        }.sorted()
        #expect(expected.count == 512)
        var importer = TraceImporter(format: .fioIolog)
        importer.queues = 4
        _ = try importer.run(paths: [dir.file("x.log")], out: dir.file("x.vqt"))
        let imported = try readAll(dir.file("x.vqt")).map { "\($0.type == .read ? "read" : "write") \($0.sector * 512) \($0.length)" }.sorted()
        #expect(imported == expected)

        let exported = try FioIologExporter.export(tracePath: dir.file("x.vqt"), out: dir.file("replay.log"), fileNames: ["data.bin"])
        #expect(exported.written == 512)
        let job = try #require(try runFio(["--name=r", "--read_iolog=replay.log", "--ioengine=null", "--size=16M"], in: dir.path))
        let reads = (job["read"] as? [String: Any])?["total_ios"] as? Int
        let writes = (job["write"] as? [String: Any])?["total_ios"] as? Int
        #expect(reads == expected.filter { $0.hasPrefix("read") }.count)
        #expect(writes == expected.filter { $0.hasPrefix("write") }.count)
    }
}
