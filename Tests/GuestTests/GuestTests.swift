import Foundation
import Testing
import TestSupport
@testable import Trace

/// The repository (guest/ holds the guest's scripts).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The test guest: a Debian cloud kernel and a busybox initramfs, built once into .build-guest.
enum GuestImage {
    static let directory = repositoryRoot + "/.build-guest"
    static let tools = ["/usr/bin/qemu-system-x86_64", "/usr/bin/qemu-storage-daemon", "/bin/busybox"]

    /// Whether the guest can run here: the tools are installed and the kernel could be fetched.
    /// Evaluated when the test is about to run; builds the guest (a download the first time).
    static let ready: Bool = {
        guard tools.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) else { return false }
        guard let result = try? runChild("/bin/bash", [repositoryRoot + "/guest/build-guest.sh", directory], mergingStandardError: true) else { return false }
        if result.status != 0 { print("guest image not built: \(result.text)") }
        return result.status == 0
    }()
}

/// The vqtrace to serve the guest: $VQTRACE_BINARY (make guest-test passes the release build), else
/// the one built beside the tests.
func vqtraceBinary() -> String {
    if let chosen = ProcessInfo.processInfo.environment["VQTRACE_BINARY"], FileManager.default.isExecutableFile(atPath: chosen) { return chosen }
    return vqtraceExecutable()
}

/// What the guest printed on its serial console.
struct GuestReport {
    let log: String
    var lines: [String] { log.split(whereSeparator: \.isNewline).map(String.init).filter { $0.contains("GUEST_") } }
    var passed: Bool { log.contains("GUEST_RESULT PASS") }
    var errors: [String] { lines.filter { $0.contains("GUEST_ERROR") } }
    var queues: Int? { lines.first { $0.contains("GUEST_INFO") }.flatMap { $0.components(separatedBy: "queues=").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } } }
    /// Direct 4 KiB reads per second in the guest (TCG makes this slow; compare ratios only).
    var readIOPS: Double? {
        guard let line = lines.first(where: { $0.contains("GUEST_READS") }) else { return nil }
        var values: [String: Double] = [:]
        for field in line.split(separator: " ") {
            let parts = field.split(separator: "=")
            if parts.count == 2, let v = Double(parts[1]) { values[String(parts[0])] = v }
        }
        guard let reads = values["reads"], let start = values["start"], let end = values["end"], end > start else { return nil }
        return reads / (end - start)
    }
}

/// Boots the guest against a vhost-user socket; returns its serial output (also kept in `log`).
func bootGuest(socket: String, log: String) throws -> GuestReport {
    let result = try runChild("/bin/bash", [repositoryRoot + "/guest/boot.sh", GuestImage.directory, socket, "2"], mergingStandardError: true)
    try result.output.write(to: URL(fileURLWithPath: log))
    return GuestReport(log: result.text)
}

/// The bytes the guest's CPU `cpu` wrote to its block `block`: "cpuC blkBBBB \n" repeated over 4 KiB.
func guestPattern(cpu: Int, block: Int) -> [UInt8] {
    let line = Array("cpu\(cpu) blk\(String(format: "%04d", block)) \n".utf8)
    return (0..<4096).map { line[$0 % line.count] }
}

/// Checks the image holds every block the guest wrote; returns the first difference.
func checkImage(_ path: String, cpus: Int) throws -> String? {
    let image = try Data(contentsOf: URL(fileURLWithPath: path))
    for cpu in 0..<cpus {
        for block in 0..<64 {
            let offset = (cpu * 256 + block) * 4096
            if Array(image[offset..<(offset + 4096)]) != guestPattern(cpu: cpu, block: block) { return "cpu \(cpu) block \(block) at byte \(offset)" }
        }
    }
    return nil
}

/// Ends a child: SIGTERM, then SIGKILL after 5 s (qemu-storage-daemon started from the test
/// runner does not always act on SIGTERM, and a test must not wait forever).
func stop(_ process: Process) {
    guard process.isRunning else { return process.waitUntilExit() }
    process.terminate()
    let deadline = Date().addingTimeInterval(5)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
}

@Suite("a real Linux guest through vhost-user-blk", .serialized)
struct GuestTests {
    @Test("the guest writes and reads its data through vqtrace serve, the trace holds its requests per vq, and the same script passes on qemu-storage-daemon",
          .enabled("needs qemu-system-x86, qemu-storage-daemon and busybox-static, and a Debian kernel package (make guest-test installs them)") { GuestImage.ready },
          .timeLimit(.minutes(10)))
    func guest() throws {
        let dir = ScratchDirectory()
        let image = dir.file("vqtrace.img")
        FileManager.default.createFile(atPath: image, contents: nil)
        try FileHandle(forWritingAtPath: image)!.truncate(atOffset: 64 << 20)

        // 1. Through vqtrace: two vqs on two IOThreads, every request recorded.
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: vqtraceBinary())
        serve.arguments = ["serve", "--socket", dir.file("vq.sock"), "--target", image, "--num-queues", "2", "rr:2",
                           "--record", dir.file("guest.vqt"), "--no-catalog"]
        let serveLog = dir.file("serve.log")
        FileManager.default.createFile(atPath: serveLog, contents: nil)
        serve.standardOutput = FileHandle(forWritingAtPath: serveLog)
        serve.standardError = serve.standardOutput
        try serve.run()
        let viaVqtrace = try bootGuest(socket: dir.file("vq.sock"), log: dir.file("guest-vqtrace.log"))
        let deadline = Date().addingTimeInterval(30)
        while serve.isRunning && Date() < deadline { usleep(50_000) }
        stop(serve)
        let served = (try? String(contentsOfFile: serveLog, encoding: .utf8)) ?? ""
        #expect(viaVqtrace.passed, "through vqtrace the guest failed: \(viaVqtrace.lines)\n\(viaVqtrace.log.suffix(2000))\n\(served)")
        #expect(viaVqtrace.errors.isEmpty, "\(viaVqtrace.errors)")
        #expect(viaVqtrace.queues == 2)
        #expect(serve.terminationStatus == 0 && served.contains("front-end disconnected") && served.contains("recorded"), "\(served)")
        #expect(try checkImage(image, cpus: 2) == nil, "the image on the host differs from what the guest wrote")

        // The trace: every block each CPU wrote, as one 4 KiB write at its sector, each CPU's on its own vq.
        var cursor = try TraceReader(path: dir.file("guest.vqt")).cursor()
        var writesByBlock: [Int: [TraceRecord]] = [:]
        var reads = 0, flushes = 0, vqs = Set<UInt16>()
        while let r = try cursor.next() {
            vqs.insert(r.vq)
            if r.type == .read { reads += 1 }
            if r.type == .flush { flushes += 1 }
            if r.type == .write && r.sector % 8 == 0 && r.sector < 512 * 8 { writesByBlock[Int(r.sector / 8), default: []].append(r) }
            #expect(r.completionNs ?? 0 >= r.submitNs)
        }
        var vqOfCPU: [Int: Set<UInt16>] = [:]
        for cpu in 0..<2 {
            for block in 0..<64 {
                let writes = writesByBlock[cpu * 256 + block] ?? []
                #expect(writes.count == 1 && writes.first?.length == 4096, "cpu \(cpu) block \(block): \(writes)")
                for w in writes { vqOfCPU[cpu, default: []].insert(w.vq) }
            }
        }
        #expect(vqs.count == 2, "requests on vqs \(vqs)")
        #expect(vqOfCPU[0]?.count == 1 && vqOfCPU[1]?.count == 1 && vqOfCPU[0] != vqOfCPU[1], "each CPU's writes on its own vq: \(vqOfCPU)")
        #expect(reads >= 10_000 + 128 && flushes >= 128, "\(reads) reads, \(flushes) flushes")

        // 2. The same guest script on qemu-storage-daemon: tells a vqtrace failure from a script one.
        let reference = dir.file("qsd.img")
        FileManager.default.createFile(atPath: reference, contents: nil)
        try FileHandle(forWritingAtPath: reference)!.truncate(atOffset: 64 << 20)
        let qsd = Process()
        qsd.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-storage-daemon")
        qsd.arguments = ["--object", "iothread,id=io0",
                         "--blockdev", "driver=file,node-name=file0,filename=\(reference),cache.direct=on,aio=native",
                         "--blockdev", "driver=raw,node-name=disk0,file=file0",
                         "--export", "type=vhost-user-blk,id=exp0,addr.type=unix,addr.path=\(dir.file("qsd.sock")),node-name=disk0,writable=on,num-queues=2,iothread=io0"]
        qsd.standardOutput = FileHandle.nullDevice
        qsd.standardError = FileHandle.nullDevice
        try qsd.run()
        let viaQSD = try bootGuest(socket: dir.file("qsd.sock"), log: dir.file("guest-qsd.log"))
        stop(qsd)
        #expect(viaQSD.passed, "through qemu-storage-daemon the guest failed: \(viaQSD.lines)")
        #expect(try checkImage(reference, cpus: 2) == nil)

        if let a = viaVqtrace.readIOPS, let b = viaQSD.readIOPS {
            print(String(format: "guest direct 4 KiB reads under TCG: vqtrace %.0f IOPS, qemu-storage-daemon %.0f IOPS, ratio %.2f", a, b, a / b))
        }
    }
}
