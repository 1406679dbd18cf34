import Foundation
import Testing
import TestSupport

/// Reports of real catalogs, in process: what the loader makes of stored runs and sweeps.
@Suite("Reports loaded from the catalog", .serialized)
struct ReportLoaderTests {
    @Test("the trace's device capacity is shown in binary units (1 GiB, 100 GiB, 512 MiB), not as 0 GiB",
          arguments: [(UInt64(1) << 30, "1 GiB"), (UInt64(100) << 30, "100 GiB"), (UInt64(512) << 20, "512 MiB")])
    func capacity(bytes: UInt64, shown: String) throws {
        let fixture = try CatalogFixture(capacityBytes: bytes)
        let id = try fixture.run("single", iops: 1000)
        let json = try fixture.reportJSON(["--runs", "\(id)"])
        let trace = try #require(json["trace"] as? [String: Any])
        #expect(trace["device"] as? String == "vda, \(shown), 4 vqs")
    }

    @Test("report --sweep of an interrupted sweep (3 layouts × 3 planned, one layout's runs, an unfinished run) is incomplete, names what is missing and recommends nothing in HTML, Markdown and JSON")
    func interruptedSweep() throws {
        let fixture = try CatalogFixture(capacityBytes: 1 << 30)
        let sweep = try fixture.sweep(layouts: ["single", "rr:2", "per-vq"], repeats: 3)
        for iops in [100_000.0, 101_000, 99_000] { try fixture.run("single", iops: iops, sweepId: sweep) }
        let unfinished = try fixture.run("rr:2", iops: nil, sweepId: sweep)  // Ctrl-C during its run

        let json = try fixture.reportJSON(["--sweep", "\(sweep)"])
        #expect(json["outcome"] as? String == "incomplete" && json["recommendation"] == nil && json["winner"] == nil)
        #expect((json["answer"] as? String)?.hasPrefix("Incomplete: rr:2: 0 of 3 runs; per-vq: 0 of 3 runs; the sweep was interrupted or failed") == true)
        let missing = try #require(json["missing_runs"] as? [[String: Any]])
        #expect(missing.map { $0["layout"] as? String } == ["rr:2", "per-vq"] && missing.map { $0["planned"] as? Int } == [3, 3])
        #expect((json["unfinished_runs"] as? [[String: Any]])?.map { $0["run"] as? Int } == [Int(unfinished)])
        #expect((json["warnings"] as? [String])?.contains { $0.hasPrefix("Run \(unfinished) (rr:2) started") && $0.hasSuffix("never finished: it counts as missing.") } == true)
        #expect((json["next_command"] as? String)?.hasPrefix("vqtrace sweep \(fixture.tracePath) --layouts single,rr:2,per-vq --repeat 3") == true)

        let md = fixture.report(["--sweep", "\(sweep)", "--format", "md"])
        #expect(md.status == 0 && md.text.contains("**Incomplete: rr:2: 0 of 3 runs; per-vq: 0 of 3 runs;"))
        #expect(md.text.contains("- rr:2: 0 of 3 runs\n- per-vq: 0 of 3 runs") && !md.text.contains("Recommended layout") && !md.text.contains("```xml"))
        let html = fixture.report(["--sweep", "\(sweep)", "--format", "html"])
        #expect(html.status == 0 && html.text.contains("<li>rr:2: 0 of 3 runs</li><li>per-vq: 0 of 3 runs</li>"))
        #expect(html.text.contains("Outcome: <b>incomplete</b>") && !html.text.contains("id='qemu'") && html.text.contains("<h2>No recommendation</h2>"))
    }

    @Test("the runs of a whole sweep are checked against its plan; a pick of runs is not, and an unfinished one is left out, not an error")
    func plansAndPicks() throws {
        let fixture = try CatalogFixture(capacityBytes: 1 << 30)
        let sweep = try fixture.sweep(layouts: ["single", "rr:2"], repeats: 3)
        var ids: [Int64] = []
        for round in 0..<3 {
            ids.append(try fixture.run("single", iops: 100_000 + Double(round) * 1000, sweepId: sweep))
            ids.append(try fixture.run("rr:2", iops: 130_000 + Double(round) * 1000, sweepId: sweep))
        }
        let whole = try fixture.reportJSON(["--runs", ids.map(String.init).joined(separator: ",")])
        #expect((whole["plan"] as? [String: Any])?["layouts"] as? [String] == ["single", "rr:2"])
        #expect(whole["outcome"] as? String == "winner" && (whole["missing_runs"] as? [Any])?.isEmpty == true)

        let unfinished = try fixture.run("rr:2", iops: nil)
        let pick = try fixture.reportJSON(["--runs", "\(ids[0]),\(ids[1]),\(ids[2]),\(ids[3]),\(unfinished)"])
        #expect(pick["plan"] is NSNull && pick["outcome"] as? String != "incomplete")
        #expect((pick["warnings"] as? [String])?.contains { $0.hasPrefix("Run \(unfinished) (rr:2)") && $0.hasSuffix("it is left out.") } == true)
        let nothing = fixture.report(["--runs", "\(unfinished)"])
        #expect(nothing.status != 0 && nothing.text.contains("no run finished: runs \(unfinished) have no results"))
        let noSweep = fixture.report(["--sweep", "99"])
        #expect(noSweep.status != 0 && noSweep.text.contains("no sweep 99"))
    }

    @Test("--vm-host-cpus fills in <iothreadpin>; the target's kind and qcow2 magic reach the snippets")
    func optionsAndTarget() throws {
        let fixture = try CatalogFixture(capacityBytes: 1 << 30)
        let image = fixture.scratch.file("vm.qcow2")
        #expect(FileManager.default.createFile(atPath: image, contents: Data([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3] + [UInt8](repeating: 0, count: 504))))
        var ids: [String] = []
        for round in 0..<3 {
            ids.append(String(try fixture.run("single", iops: 100_000 + Double(round) * 1000, target: image)))
            ids.append(String(try fixture.run("rr:2", iops: 130_000 + Double(round) * 1000, target: image)))
        }
        let json = try fixture.reportJSON(["--runs", ids.joined(separator: ","), "--vm-host-cpus", "8-11"])
        let recommendation = try #require(json["recommendation"] as? [String: Any])
        let libvirt = try #require(recommendation["libvirt"] as? String)
        #expect(libvirt.contains("<iothreadpin iothread='1' cpuset='8'/>") && libvirt.contains("<iothreadpin iothread='2' cpuset='9'/>"))
        #expect(libvirt.contains("<driver name='qemu' type='qcow2'") && libvirt.contains("<disk type='file' device='disk'>"))
        #expect((recommendation["qemu"] as? String)?.contains(#""driver":"qcow2""#) == true)
        let plain = try fixture.reportJSON(["--runs", ids.joined(separator: ",")])
        #expect(((plain["recommendation"] as? [String: Any])?["libvirt"] as? String)?.contains("cpuset='VM_HOST_CPU_1'") == true)
        let bad = fixture.report(["--runs", ids[0], "--vm-host-cpus", "8-x"])
        #expect(bad.status != 0 && bad.text.contains("--vm-host-cpus"))
    }
}
