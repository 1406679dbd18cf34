import Catalog
import Foundation
import Testing
import TestSupport
@testable import Trace

/// One flipped byte costs one chunk, and only once, in every command that reads the trace.
@Suite("Damaged traces in the commands", .serialized)
struct DamagedTraceCommandTests {
    /// 300,000 requests in chunks of 65,536 with one byte flipped inside chunk 2's columns.
    static func flipped(in dir: ScratchDirectory) throws -> (catalog: String, path: String) {
        let catalog = dir.file("catalog.sqlite")
        let path = dir.file("flipped.vqt")
        let made = try runVQTrace(["traces", "synth", "--out", path, "--requests", "300000", "--capacity", "64m", "--iops", "3000000",
                                   "--catalog", catalog], in: dir.path)
        #expect(made.status == 0, "\(made.output)")
        let reader = try TraceReader(path: path)
        #expect(reader.chunks.count == 5)
        let offset = Int(reader.chunks[2].offset) + TraceFormat.chunkHeaderSize + 200
        var bytes = Fixtures.bytes(of: path)
        bytes[offset] ^= 0x40
        Fixtures.writeBytes(bytes, to: path)
        return (catalog, path)
    }

    @Test("show summarizes the rest and says what was lost; replay replays the rest, says it once, and marks the run")
    func showAndReplay() throws {
        let dir = ScratchDirectory()
        let (catalog, path) = try Self.flipped(in: dir)
        let verify = try runVQTrace(["traces", "verify", path, "--catalog", catalog], in: dir.path)
        #expect(verify.status == 1 && verify.output.contains("bad chunk 2"))
        #expect(try TraceCatalog(path: catalog).rows("SELECT damage FROM trace") == [["damage": "1 damaged chunk (2): 65536 records lost"]])

        let show = try runVQTrace(["traces", "show", path, "--catalog", catalog], in: dir.path)
        #expect(show.status == 0, "\(show.output)")
        #expect(show.output.contains("DAMAGED: 1 damaged chunk (2) skipped: 65536 of 300000 records lost"))
        #expect(show.output.contains("234464 requests over"))

        // Without --allow-damaged the window's damage is refused before the run, named.
        let refused = try runVQTrace(["replay", "flipped", "--backend", "null", "--timing", "afap", "--catalog", catalog], in: dir.path)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("is damaged in the replayed window: 1 damaged chunk (2) skipped: 65536 of 300000 records lost"), "\(refused.output)")
        #expect(try TraceCatalog(path: catalog).rows("SELECT id FROM run").isEmpty)
        // Outside the damage the window replays without the flag.
        let clean = try runVQTrace(["replay", "flipped", "--backend", "null", "--timing", "afap", "--to", "10ms", "--no-catalog", "--catalog", catalog], in: dir.path)
        #expect(clean.status == 0, "\(clean.output)")

        let replay = try runVQTrace(["replay", "flipped", "--backend", "null", "--timing", "afap", "--allow-damaged", "--catalog", catalog], in: dir.path)
        #expect(replay.status == 0, "\(replay.output)")
        #expect(replay.output.contains("234464 requests replayed"))
        #expect(replay.output.components(separatedBy: "damaged chunk").count - 1 == 1, "\(replay.output)")
        let json = try runVQTrace(["replay", "flipped", "--backend", "null", "--timing", "afap", "--allow-damaged", "--json", "--no-catalog", "--catalog", catalog], in: dir.path)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(object["replayed"] as? Int == 234_464)
        let damaged = try #require(object["damaged_chunks"] as? [[String: Any]])
        #expect(damaged.count == 1 && damaged[0]["chunk"] as? Int == 2 && damaged[0]["records_lost"] as? Int == 65536)
        #expect((object["trace_errors"] as? [String])?.isEmpty == true)

        let runs = try TraceCatalog(path: catalog).rows("SELECT warning FROM run")
        #expect(runs.count == 1 && runs[0]["warning"]?.contains("the trace is damaged: 1 damaged chunk (2) skipped") == true)
    }

    @Test("a sweep says the damage once, before its runs, and stores every run marked")
    func sweep() throws {
        let dir = ScratchDirectory()
        let (catalog, _) = try Self.flipped(in: dir)
        let sweep = try runVQTrace(["sweep", "flipped", "--backend", "null", "--layouts", "single,rr:2", "--repeat", "1",
                                    "--report", dir.file("r.html"), "--catalog", catalog], in: dir.path)
        #expect(sweep.status == 0, "\(sweep.output)")
        #expect(sweep.output.components(separatedBy: "is damaged").count - 1 == 1, "\(sweep.output)")
        #expect(sweep.output.contains("1 bad chunk (65536 of 300000 records); every run skips them and is marked"))
        let runs = try TraceCatalog(path: catalog).rows("SELECT warning FROM run WHERE sweepId = 1")
        #expect(runs.count == 2 && runs.allSatisfy { $0["warning"]?.contains("damaged") == true })
    }
}
