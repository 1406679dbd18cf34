import Foundation
import Testing
import TestSupport

/// The target rules through the binary: bench, replay and serve on real files.
@Suite("vqtrace commands on file targets", .serialized)
struct TargetCommandTests {
    static func json(_ output: String) throws -> [String: Any] {
        let start = try #require(output.firstIndex(of: "{"), "no JSON in: \(output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [String: Any], "\(output)")
    }

    @Test("bench fills a new file once and says how it prepared it; --compare-fio runs fio on the same filled file, which fio neither lays out again nor changes")
    func benchFillsOnce() throws {
        let dir = ScratchDirectory()
        let target = dir.file("bench.img")
        let first = try runVQTrace(["bench", "--target", target, "--size", "16m", "--duration", "1s", "--json"], in: dir.path)
        #expect(first.status == 0, "\(first.output)")
        let prepared = try #require(try Self.json(first.output)["target_preparation"] as? [String: Any])
        #expect(prepared["kind"] as? String == "file" || prepared["kind"] as? String == "tmpfs")
        #expect(prepared["created_now"] as? Bool == true && prepared["filled_bytes"] as? Int == 16 << 20 && prepared["unwritten_bytes_after"] as? Int == 0)
        #expect((prepared["summary"] as? String)?.hasPrefix("target \(target): new file created by vqtrace") == true)
        let filled = try sha256(ofFile: target)

        let text = try runVQTrace(["bench", "--target", target, "--size", "16m", "--duration", "1s"], in: dir.path)
        #expect(text.status == 0, "\(text.output)")
        #expect(text.output.contains("  target \(target): file created by vqtrace") && text.output.contains("already holds data"), "\(text.output)")

        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/fio") else {
            print("benchFillsOnce: fio is not installed; --compare-fio not checked")
            return
        }
        let compared = try runVQTrace(["bench", "--target", target, "--size", "16m", "--duration", "1s", "--compare-fio", "--json"], in: dir.path)
        #expect(compared.status == 0, "\(compared.output)")
        let object = try Self.json(compared.output)
        #expect((object["target_preparation"] as? [String: Any])?["filled_bytes"] as? Int == 0)
        let fio = try #require(object["fio"] as? [String: Any])
        #expect((fio["iops"] as? Double ?? 0) > 0)
        #expect((fio["command"] as? String)?.contains("--filename=\(target)") == true)
        #expect(try sha256(ofFile: target) == filled, "a read-only bench and fio changed the file")
        if let frag = try FilefragReport.of(target), frag.blockSize > 0 {
            #expect(frag.unwrittenBlocks == 0 && frag.holeBlocks == 0, "\(frag.text)")
        }
    }

    @Test("--help teaches the file rules: new files are filled, a user's file needs --allow-writes, a signed one --destroy-data")
    func help() throws {
        let dir = ScratchDirectory()
        for command in ["bench", "replay"] {
            let help = try runVQTrace([command, "--help"], in: dir.path)
            let flat = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(flat.contains("--allow-writes") && flat.contains("--destroy-data") && flat.contains("vqtrace did not create"), "\(command): \(help.output)")
            #expect(flat.contains("filled with data"), "\(command): \(help.output)")
        }
    }

    @Test("replay onto a qcow2 image the user made: --allow-writes alone is refused naming --destroy-data, the image unchanged; either name of the destroy flag lets it run")
    func replayOntoSignedFile() throws {
        let dir = ScratchDirectory()
        let synth = try runVQTrace(["traces", "synth", "--out", dir.file("t.vqt"), "--requests", "500", "--capacity", "16m", "--no-catalog"], in: dir.path)
        try #require(synth.status == 0, "\(synth.output)")
        let image = dir.file("guest.qcow2")
        var bytes = [UInt8](repeating: 0x5A, count: 16 << 20)
        bytes.replaceSubrange(0..<8, with: [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3])
        FileManager.default.createFile(atPath: image, contents: Data(bytes))
        let hash = try sha256(ofFile: image)
        let base = ["replay", dir.file("t.vqt"), "--target", image, "--timing", "afap", "--no-catalog"]

        let noFlag = try runVQTrace(base, in: dir.path)
        #expect(noFlag.status != 0 && noFlag.output.contains(image) && noFlag.output.contains("--allow-writes"), "\(noFlag.output)")
        let writesOnly = try runVQTrace(base + ["--allow-writes"], in: dir.path)
        #expect(writesOnly.status != 0 && writesOnly.output.contains("qcow2 disk image") && writesOnly.output.contains("--destroy-data"), "\(writesOnly.output)")
        #expect(try sha256(ofFile: image) == hash)

        let readOnly = try runVQTrace(base + ["--writes", "skip"], in: dir.path)
        #expect(readOnly.status == 0 && readOnly.output.contains("existing file not created by vqtrace"), "\(readOnly.output)")
        #expect(try sha256(ofFile: image) == hash)

        for flag in ["--destroy-data", "--destroy-data-on-device"] {
            let run = try runVQTrace(base + ["--allow-writes", flag], in: dir.path)
            #expect(run.status == 0, "\(flag): \(run.output)")
        }
    }

    @Test("serve refuses a disk-image container (it serves raw only) and leaves it alone")
    func serveRefusesContainers() throws {
        let dir = ScratchDirectory()
        let image = dir.file("guest.vmdk")
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        bytes.replaceSubrange(0..<4, with: Array("KDMV".utf8))
        FileManager.default.createFile(atPath: image, contents: Data(bytes))
        let hash = try sha256(ofFile: image)
        let serve = try runVQTrace(["serve", "--socket", dir.file("vq.sock"), "--target", image, "--no-catalog"], in: dir.path)
        #expect(serve.status != 0 && serve.output.contains("VMDK disk image") && serve.output.contains("raw"), "\(serve.output)")
        #expect(try sha256(ofFile: image) == hash)
        #expect(!FileManager.default.fileExists(atPath: dir.file("vq.sock")), "it listened before refusing")
    }
}
