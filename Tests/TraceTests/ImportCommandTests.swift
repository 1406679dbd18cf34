import Catalog
import Foundation
import Testing
import TestSupport

/// `vqtrace import` and `vqtrace export` end to end: the binary, real files, a real catalog.
@Suite("vqtrace import and export commands", .serialized)
struct ImportCommandTests {
    static let blkparse = """
          8,0    3        1     0.000000000   697  Q  WS 3417048 + 8 [kjournald]
          8,0    1        1     0.000010000   700  Q   R 2048 + 16 [dd]
          8,0    3        2     0.000317024     0  C  WS 3417048 + 8 [0]
          8,0    1        2     0.000400000     0  C   R 2048 + 16 [0]

        """

    @Test("auto-detected import says what it chose, is catalogued with its format and file, and exports back")
    func importAndExport() throws {
        let dir = ScratchDirectory()
        let catalog = dir.file("catalog.sqlite")
        let input = dir.write("vdb.txt", Self.blkparse)
        let run = try runVQTrace(["import", input, "--out", dir.file("vdb.vqt"), "--catalog", catalog], in: dir.path)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("format: blkparse") && run.output.contains("detected from the first"))
        #expect(run.output.contains("2 requests from 4 lines") && run.output.contains("4 vqs each by cpu"))
        #expect(run.output.contains("completions: 2 paired"))

        let rows = try TraceCatalog(path: catalog).rows("SELECT sourceKind, sourceName, metadataJSON, records FROM trace", [])
        #expect(rows.count == 1 && rows.first?["sourceKind"] == "import" && rows.first?["sourceName"] == "blkparse" && rows.first?["records"] == "2")
        #expect(rows.first?["metadataJSON"]?.contains(input.replacingOccurrences(of: "/", with: "\\/")) == true
                || rows.first?["metadataJSON"]?.contains(input) == true)

        let csv = try runVQTrace(["export", "vdb", "--format", "csv", "--out", dir.file("vdb.csv"), "--catalog", catalog], in: dir.path)
        #expect(csv.status == 0 && csv.output.contains("exported 2 requests"), "\(csv.output)")
        #expect(try String(contentsOfFile: dir.file("vdb.csv"), encoding: .utf8) == """
            device,vq,type,sector,length,submit_ns,completion_ns,status
            vda,3,write,3417048,4096,0,317024,ok
            vda,1,read,2048,8192,10000,400000,ok

            """)
        let blk = try runVQTrace(["export", dir.file("vdb.vqt"), "--format", "blkparse", "--out", dir.file("back.txt")], in: dir.path)
        #expect(blk.status == 0, "\(blk.output)")
        let json = try runVQTrace(["import", "--format", "blkparse", dir.file("back.txt"), "--out", dir.file("back.vqt"), "--no-catalog", "--json"], in: dir.path)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any], "\(json.output)")
        #expect(object["requests"] as? Int == 2 && object["paired_completions"] as? Int == 2 && object["devices"] as? [String] == ["252,0"])
    }

    @Test("a bad line fails with FILE:LINE, leaves no trace and nothing catalogued; --skip-bad-lines goes on")
    func badLine() throws {
        let dir = ScratchDirectory()
        let catalog = dir.file("catalog.sqlite")
        let input = dir.write("a.csv", "1,R,0,4096,10\n1,R,0,4096\n1,W,8192,4096,30\n")
        let run = try runVQTrace(["import", "--format", "alibaba", input, "--out", dir.file("a.vqt"), "--catalog", catalog], in: dir.path)
        #expect(run.status != 0 && run.output.contains("\(input):2: expected 5 comma-separated fields"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("a.vqt")))
        #expect(try TraceCatalog(path: catalog).rows("SELECT id FROM trace", []).isEmpty)
        let lenient = try runVQTrace(["import", "--format", "alibaba", input, "--out", dir.file("a.vqt"), "--catalog", catalog, "--skip-bad-lines"], in: dir.path)
        #expect(lenient.status == 0 && lenient.output.contains("1 bad line skipped") && lenient.output.contains("2 requests"), "\(lenient.output)")
        let wrong = try runVQTrace(["import", "--format", "alibaba", input, "--out", dir.file("b.vqt"), "--vq-map", "cpu"], in: dir.path)
        #expect(wrong.status != 0 && wrong.output.contains("CPU and process fields"), "\(wrong.output)")
        let unknown = try runVQTrace(["import", dir.write("x", "what is this\n"), "--out", dir.file("x.vqt")], in: dir.path)
        #expect(unknown.status != 0 && unknown.output.contains("match no format"), "\(unknown.output)")
    }

    @Test("--help teaches every format and its units")
    func help() throws {
        let help = try runVQTrace(["import", "--help"], in: NSTemporaryDirectory())
        for words in ["fio-iolog", "blkparse", "ftrace-blk", "msr", "alibaba", "tencent", "disksim", "FILETIME", "--time-unit", "--vq-map", "FILE:LINE"] {
            #expect(help.output.contains(words), "\(words)")
        }
    }
}
