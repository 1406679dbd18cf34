import Catalog
import Foundation
import Testing
import TestSupport
@testable import Trace

/// Bad input is refused before any work starts, with exit status 2 and a message that names the
/// option and what the trace allows; nothing is stored for it.
@Suite("Usage errors", .serialized)
struct UsageErrorTests {
    /// A 1-second, 2-vq trace catalogued in `dir`.
    static func smallTrace(in dir: ScratchDirectory) throws -> String {
        let catalog = dir.file("catalog.sqlite")
        let made = try runVQTrace(["generate", "--workload", "fio", "--numjobs", "2", "--duration", "1s", "--rate-iops", "2000",
                                   "--capacity", "64m", "--out", dir.file("t.vqt"), "--catalog", catalog], in: dir.path)
        #expect(made.status == 0, "\(made.output)")
        return catalog
    }

    static func sweepRows(_ catalog: String) throws -> (sweeps: Int, runs: Int) {
        let open = try TraceCatalog(path: catalog)
        return (try open.rows("SELECT id FROM sweep").count, try open.rows("SELECT id FROM run").count)
    }

    @Test("the crashes found by a new user: a capacity under a WAL segment, a window after the trace, a window that ends before it starts")
    func formerCrashes() throws {
        let dir = ScratchDirectory()
        let small = try runVQTrace(["generate", "--workload", "oltp-postgres", "--capacity", "1m", "--out", dir.file("pg.vqt"), "--no-catalog"], in: dir.path)
        #expect(small.status == 2, "\(small.output)")
        #expect(small.output.contains("too small for oltp-postgres") && small.output.contains("16 MiB WAL segment"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

        let catalog = try Self.smallTrace(in: dir)
        let late = try runVQTrace(["replay", "t", "--backend", "null", "--from", "5s", "--catalog", catalog], in: dir.path)
        #expect(late.status == 2, "\(late.output)")
        #expect(late.output.contains("the window starts after the trace ends"))
        let backwards = try runVQTrace(["replay", "t", "--backend", "null", "--from", "500ms", "--to", "200ms", "--catalog", catalog], in: dir.path)
        #expect(backwards.status == 2 && backwards.output.contains("--to (200ms) must be after --from (500ms)"), "\(backwards.output)")
        #expect(try Self.sweepRows(catalog).runs == 0)
    }

    @Test("a sweep checks every layout, option and the target before the first run and leaves no empty sweep")
    func sweepChecksFirst() throws {
        let dir = ScratchDirectory()
        let catalog = try Self.smallTrace(in: dir)
        let badLayout = try runVQTrace(["sweep", "t", "--backend", "null", "--layouts", "single,rr:0", "--catalog", catalog], in: dir.path)
        #expect(badLayout.status == 2, "\(badLayout.output)")
        #expect(badLayout.output.contains("layout rr:0") && !badLayout.output.contains("round 1") && !badLayout.output.contains("sweep 1"))
        let zeroDepth = try runVQTrace(["sweep", "t", "--backend", "null", "--qd", "0", "--catalog", catalog], in: dir.path)
        #expect(zeroDepth.status == 2 && zeroDepth.output.contains("--qd must be 1...1024"))
        // A target that is not a file or device is refused before the sweep exists.
        let folder = dir.file("folder")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let badTarget = try runVQTrace(["sweep", "t", "--target", folder, "--catalog", catalog], in: dir.path)
        #expect(badTarget.status == 1 && badTarget.output.contains("neither a regular file nor a block device"), "\(badTarget.output)")
        let twice = try runVQTrace(["sweep", "t", "--backend", "null", "--layouts", "single,single", "--catalog", catalog], in: dir.path)
        #expect(twice.status == 2 && twice.output.contains("names a layout twice"))
        let vms = try runVQTrace(["sweep", "t", "--backend", "null", "--vms", "1,x", "--catalog", catalog], in: dir.path)
        #expect(vms.status == 2 && vms.output.contains("--vms must list VM counts"))
        #expect(try Self.sweepRows(catalog).sweeps == 0 && Self.sweepRows(catalog).runs == 0)
    }

    @Test("replay refuses vqs the trace does not have, and a libvirt mismatch names the trace, not --num-queues")
    func replayShape() throws {
        let dir = ScratchDirectory()
        let catalog = try Self.smallTrace(in: dir)
        let vqs = try runVQTrace(["replay", "t", "--backend", "null", "--vqs", "7", "--catalog", catalog], in: dir.path)
        #expect(vqs.status == 2, "\(vqs.output)")
        #expect(vqs.output.contains("--vqs names vq 7, but the trace's devices have vqs 0-1"))
        let xml = dir.write("vm.xml", """
            <domain type='kvm'><iothreads>2</iothreads><devices>
              <disk type='file' device='disk'><driver name='qemu' type='raw' queues='4'><iothreads>
                <iothread id='1'><queue id='0'/><queue id='2'/></iothread><iothread id='2'><queue id='1'/><queue id='3'/></iothread>
              </iothreads></driver><target dev='vda' bus='virtio'/></disk>
            </devices></domain>
            """)
        let mismatch = try runVQTrace(["replay", "t", "libvirt:\(xml)", "--backend", "null", "--catalog", catalog], in: dir.path)
        #expect(mismatch.status == 2, "\(mismatch.output)")
        #expect(mismatch.output.contains("the device has 2 virtqueues") && mismatch.output.contains("device vda of the trace has 2 virtqueues"))
        #expect(!mismatch.output.contains("--num-queues"))
        #expect(try Self.sweepRows(catalog).runs == 0)
    }

    @Test("numbers out of range are named, negative ones included (they read as options before)")
    func numbers() throws {
        let dir = ScratchDirectory()
        let negative = try runVQTrace(["generate", "--workload", "oltp", "--duration", "-5s", "--out", dir.file("x.vqt")], in: dir.path)
        #expect(negative.status == 2 && negative.output.contains("--duration must be positive"), "\(negative.output)")
        let depth = try runVQTrace(["replay", "x.vqt", "--backend", "null", "--qd", "-1"], in: dir.path)
        #expect(depth.status == 2 && depth.output.contains("--qd must be 1...1024"), "\(depth.output)")
        let huge = try runVQTrace(["traces", "synth", "--out", dir.file("x.vqt"), "--capacity", "99999999999t"], in: dir.path)
        #expect(huge.status == 2 && huge.output.contains("--capacity"), "\(huge.output)")
        let help = try runVQTrace(["generate", "--help"], in: dir.path)
        #expect(help.output.contains("(default: 100g)") && !help.output.contains("107374182400"))
    }

    @Test("a catalog that cannot be opened names the file and what to do")
    func unopenableCatalog() throws {
        let dir = ScratchDirectory()
        let file = dir.write("file", "x")
        let underFile = try runVQTrace(["traces", "list", "--catalog", file + "/catalog.sqlite"], in: dir.path)
        #expect(underFile.status == 1 && underFile.output.contains("cannot open the catalog \(file)/catalog.sqlite"), "\(underFile.output)")
        #expect(underFile.output.contains("\(file) is a file, not a folder") && underFile.output.contains("pass --catalog PATH"))
        try FileManager.default.createDirectory(atPath: dir.file("c.sqlite"), withIntermediateDirectories: true)
        let folder = try runVQTrace(["traces", "list", "--catalog", dir.file("c.sqlite")], in: dir.path)
        #expect(folder.status == 1 && folder.output.contains("cannot open the catalog \(dir.file("c.sqlite"))"), "\(folder.output)")
        #expect(folder.output.contains("it is a folder, not a catalog file") && !folder.output.contains("SQLite error 14"))
        if geteuid() != 0 {  // root writes anywhere; a read-only folder stops only other users
            let readOnly = dir.file("ro")
            try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
            chmod(readOnly, 0o555)
            defer { chmod(readOnly, 0o755) }
            let denied = try runVQTrace(["traces", "list", "--catalog", readOnly + "/catalog.sqlite"], in: dir.path)
            #expect(denied.status == 1 && denied.output.contains("is not writable by this user"), "\(denied.output)")
        }
    }

    @Test("what a new user met: --shared-iothreads, --version, demo's --repeat and --report, empty vqs, no 1970, one-vq imports")
    func smallThings() throws {
        let dir = ScratchDirectory()
        let catalog = try Self.smallTrace(in: dir)
        let shared = try runVQTrace(["replay", "t", "--backend", "null", "--timing", "afap", "--vms", "2", "--shared-iothreads", "--no-catalog", "--catalog", catalog], in: dir.path)
        #expect(shared.status == 0, "\(shared.output)")
        let version = try runVQTrace(["--version"], in: dir.path)
        #expect(version.status == 0 && version.output.hasPrefix("vqtrace ") && version.output.contains("trace format 1."))
        let demo = try runVQTrace(["demo", "--help"], in: dir.path)
        #expect(demo.output.contains("--repeat <repeat>") && demo.output.contains("--report <report>"))
        #expect(!demo.output.contains("--repeats") && !demo.output.contains("--report-path"))

        // A 4-vq trace whose requests are all on vq 0: every vq is listed.
        let metadata = TraceMetadata(devices: [.init(capacitySectors: 1 << 20, numQueues: 4)], source: .init(kind: "test", name: "one-vq"))
        let writer = try TraceWriter(path: dir.file("lopsided.vqt"), metadata: metadata)
        for i in 0..<100 { try writer.append(TraceRecord(vq: 0, type: .read, sector: UInt64(i) * 8, length: 4096, submitNs: UInt64(i) * 1000)) }
        try writer.finish()
        let show = try runVQTrace(["traces", "show", dir.file("lopsided.vqt")], in: dir.path)
        #expect(show.output.contains("per vq vq0 100  vq1 0  vq2 0  vq3 0"), "\(show.output)")
        let generated = try runVQTrace(["traces", "show", "t", "--catalog", catalog], in: dir.path)
        #expect(!generated.output.contains("1970") && generated.output.contains("generated (no creation time"), "\(generated.output)")

        let log = dir.write("f.log", "fio version 3 iolog\n0 f add\n0 f open\n10 f read 0 4096\n20 f read 4096 4096\n30 f close\n")
        let imported = try runVQTrace(["import", log, "--out", dir.file("f.vqt"), "--no-catalog"], in: dir.path)
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("one vq per device") && imported.output.contains("--queues N deals the requests round-robin"))
    }
}
