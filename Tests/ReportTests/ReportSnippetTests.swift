import Foundation
import Testing
import TestSupport
@testable import Layout
@testable import Report

/// The recommended configuration as a user pastes it: QEMU -blockdev/-device and libvirt <disk>.
@Suite("Recommended configuration snippets", .serialized)
struct ReportSnippetTests {
    /// rr:2 wins clearly (the shared fixture), replayed onto `target`.
    static func model(target: String = "/tmp/disk.img", kind: DiskBacking.Kind? = nil, format: DiskBacking.ImageFormat = .raw,
                      backend: String = "io_uring", runs: [ReportRun]? = nil) throws -> ReportModel {
        var input = ReportFixtures.input(runs: runs)
        input.target = target
        input.backend = backend
        input.targetKind = kind ?? (target.hasPrefix("/dev/") ? .blockDevice : .file)
        input.targetFormat = format
        return try ReportModel(input)
    }

    /// The QEMU snippet's options: option name and its argument, comments dropped.
    static func options(_ qemu: String) throws -> [(String, String)] {
        let words = try QEMULayoutFormat.shellWords(qemu.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n"))
        return stride(from: 0, to: words.count - 1, by: 2).map { (words[$0], words[$0 + 1]) }
    }

    static func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test("the QEMU snippet has a -blockdev whose node-name the -device uses as its drive, with cache.direct=on and the runs' aio, on the file driver for a file target")
    func qemuFile() throws {
        let recommendation = try #require(try Self.model().recommendation)
        let options = try Self.options(recommendation.qemu)
        #expect(options.map(\.0) == ["-object", "-object", "-blockdev", "-blockdev", "-device"])
        let blockdevs = try options.filter { $0.0 == "-blockdev" }.map { try Self.object($0.1) }
        let device = try Self.object(options.last!.1)
        let protocolNode = blockdevs[0], formatNode = blockdevs[1]
        #expect(protocolNode["driver"] as? String == "file" && protocolNode["filename"] as? String == "/path/to/vm-disk.img")
        #expect(protocolNode["aio"] as? String == "io_uring")
        #expect(formatNode["driver"] as? String == "raw" && formatNode["file"] as? String == protocolNode["node-name"] as? String)
        #expect(device["drive"] as? String == "drive-vda" && formatNode["node-name"] as? String == "drive-vda")
        for node in blockdevs { #expect((node["cache"] as? [String: Any])?["direct"] as? Bool == true) }
        #expect((device["iothread-vq-mapping"] as? [[String: Any]])?.count == 2)
        #expect(recommendation.diskNote.hasPrefix("/path/to/vm-disk.img is a placeholder"))
        // The snippet is still a layout QEMULayoutFormat reads (the -blockdev lines are skipped).
        #expect(try QEMULayoutFormat.parse(recommendation.qemu, numQueues: 4).devices[0].assignment == ["iothread1", "iothread2", "iothread1", "iothread2"])
        // The threads backend measured aio=threads, and the snippet says so.
        let threads = try #require(try Self.model(backend: "threads").recommendation)
        #expect(threads.qemu.contains(#""aio":"threads""#) && threads.libvirt.contains("io='threads'"))
    }

    @Test("a block-device target gives host_device and <disk type='block'> with <source dev>, named as measured")
    func blockDevice() throws {
        let recommendation = try #require(try Self.model(target: "/dev/nvme1n1").recommendation)
        let protocolNode = try Self.object(try Self.options(recommendation.qemu).first { $0.0 == "-blockdev" }!.1)
        #expect(protocolNode["driver"] as? String == "host_device" && protocolNode["filename"] as? String == "/dev/nvme1n1")
        #expect(recommendation.libvirt.contains("<disk type='block' device='disk'>"))
        #expect(recommendation.libvirt.contains("<driver name='qemu' type='raw' cache='none' io='io_uring' queues='4'>"))
        #expect(recommendation.libvirt.contains("<source dev='/dev/nvme1n1'/>") && !recommendation.libvirt.contains("type='file'"))
        #expect(recommendation.diskNote.contains("/dev/disk/by-id/"))
    }

    @Test("a file target gives <disk type='file'> with <source file> on a placeholder; a qcow2 target (QFI\\xfb) gives qcow2 in both forms")
    func fileAndQcow2() throws {
        #expect(DiskBacking.ImageFormat.detect(header: [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]) == .qcow2)
        #expect(DiskBacking.ImageFormat.detect(header: [0x51, 0x46, 0x49]) == .raw && DiskBacking.ImageFormat.detect(header: [UInt8](repeating: 0, count: 512)) == .raw)
        let raw = try #require(try Self.model().recommendation)
        #expect(raw.libvirt.contains("<disk type='file' device='disk'>") && raw.libvirt.contains("<source file='/path/to/vm-disk.img'/>"))
        #expect(raw.libvirt.contains("<driver name='qemu' type='raw' cache='none' io='io_uring' queues='4'>"))
        let qcow2 = try #require(try Self.model(format: .qcow2).recommendation)
        #expect(qcow2.libvirt.contains("<driver name='qemu' type='qcow2'") && qcow2.libvirt.contains("<source file='/path/to/vm-disk.qcow2'/>"))
        let formatNode = try Self.object(try Self.options(qcow2.qemu).filter { $0.0 == "-blockdev" }[1].1)
        #expect(formatNode["driver"] as? String == "qcow2")
        // The XML is still a layout LibvirtLayoutFormat reads.
        let filled = raw.libvirt.replacingOccurrences(of: "VM_HOST_CPU_", with: "")
        #expect(try LibvirtLayoutFormat.parse(filled, numQueues: 4).devices[0].iothreads == ["iothread1", "iothread2"])
    }

    /// Starts the installed QEMU paused with `options`, asks QMP what it built and quits; returns
    /// QEMU's exit status and the QMP replies (or its error message).
    static func qemu(_ options: [String]) throws -> (status: Int32, replies: [[String: Any]], output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-system-x86_64")
        process.arguments = ["-M", "q35", "-accel", "tcg", "-display", "none", "-nodefaults", "-S", "-qmp", "stdio"] + options
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // A QEMU that does not quit must not hang the suite.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        let commands = ["qmp_capabilities", "query-block", "query-named-block-nodes", "quit"].map { #"{"execute":"\#($0)"}"# + "\n" }.joined()
        input.fileHandleForWriting.write(Data(commands.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        let text = String(decoding: data, as: UTF8.self)
        // QMP ends its lines with \r\n, one Character in Swift: split on any newline.
        let replies = text.split(whereSeparator: \.isNewline).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return (process.terminationStatus, replies, text)
    }

    /// The recommendation's QEMU options onto `path`. QEMU 7.2 (the installed one) predates
    /// iothread-vq-mapping (9.0), so a mapping becomes `iothread` on the first IOThread: the rest
    /// (-object, both -blockdev nodes, the -device and its drive) is checked as emitted.
    static func options(for recommendation: Recommendation, path: String) throws -> [String] {
        try options(recommendation.qemu.replacingOccurrences(of: recommendation.disk.path, with: path)).flatMap { name, argument -> [String] in
            guard name == "-device", argument.contains("iothread-vq-mapping") else { return [name, argument] }
            guard case .object(let members) = try JSONValue.parse(argument) else { return [name, argument] }
            let first: JSONValue = .string("iothread1")
            return [name, JSONValue.object(members.filter { $0.0 != "iothread-vq-mapping" } + [("iothread", first)]).serialized]
        }
    }

    static func checkQEMU(accepts recommendation: Recommendation, path: String, formatDriver: String, protocolDriver: String) throws {
        let run = try qemu(try options(for: recommendation, path: path))
        #expect(run.status == 0, "\(run.output)")
        let returns = run.replies.compactMap { $0["return"] }
        let block = try #require(returns.compactMap { $0 as? [[String: Any]] }.first { $0.first?["qdev"] != nil })
        let vda = try #require(block.first { $0["qdev"] as? String == "/machine/peripheral/vda/virtio-backend" })
        #expect((vda["inserted"] as? [String: Any])?["node-name"] as? String == "drive-vda")
        let nodes = try #require(returns.compactMap { $0 as? [[String: Any]] }.first { $0.first?["qdev"] == nil && $0.first?["node-name"] != nil })
        let format = try #require(nodes.first { $0["node-name"] as? String == "drive-vda" })
        let file = try #require(nodes.first { $0["node-name"] as? String == "file-vda" })
        #expect(format["drv"] as? String == formatDriver && file["drv"] as? String == protocolDriver)
        for node in [format, file] { #expect((node["cache"] as? [String: Any])?["direct"] as? Bool == true) }
    }

    @Test("the installed QEMU accepts the snippet: raw and qcow2 files, a block device; the -device finds its -blockdev node",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64"), "needs qemu-system-x86_64 (Debian's qemu-system-x86)"))
    func installedQEMU() throws {
        let scratch = ScratchDirectory()
        // A raw image on a filesystem that takes O_DIRECT (cache.direct=on opens it so).
        let raw = scratch.file("vm.img")
        #expect(FileManager.default.createFile(atPath: raw, contents: nil))
        try FileHandle(forWritingTo: URL(fileURLWithPath: raw)).truncate(atOffset: 64 << 20)
        try Self.checkQEMU(accepts: try #require(try Self.model().recommendation), path: raw, formatDriver: "raw", protocolDriver: "file")

        // The equivalent outcome recommends single: its -device uses `iothread`, which 7.2 takes as emitted.
        let equal = try Self.model(runs: ReportVerdictTests.runs([("single", [100_000, 100_200, 99_800]), ("rr:2", [100_100, 100_300, 99_900])]))
        let single = try #require(equal.recommendation)
        #expect(single.spec == "single" && single.qemu.contains(#""iothread":"iothread1""#))
        try Self.checkQEMU(accepts: single, path: raw, formatDriver: "raw", protocolDriver: "file")

        if FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img") {
            let qcow2 = scratch.file("vm.qcow2")
            #expect(try runChild("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", qcow2, "64M"]).status == 0)
            let header = try #require(FileManager.default.contents(atPath: qcow2))
            #expect(DiskBacking.ImageFormat.detect(header: header.prefix(4)) == .qcow2)
            try Self.checkQEMU(accepts: try #require(try Self.model(format: .qcow2).recommendation), path: qcow2, formatDriver: "qcow2", protocolDriver: "file")
        }
        if LoopDevice.available {
            let loop = try LoopDevice(bytes: 64 << 20)
            let recommendation = try #require(try Self.model(target: loop.path).recommendation)
            #expect(recommendation.disk.path == loop.path)
            try Self.checkQEMU(accepts: recommendation, path: loop.path, formatDriver: "raw", protocolDriver: "host_device")
        }
    }
}
