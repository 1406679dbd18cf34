import BlockBackend
import CLinuxShim
import Foundation
import Layout
import Testing
import TestSupport
import Trace
import Virtio
@testable import Engine
@testable import Replay
@testable import VhostUser
#if canImport(Glibc)
import Glibc
#endif

/// Plays a fixed list of requests in order, stamping writes, and keeps each status.
private struct Script: SequentialRequestSource {
    var requests: [PlannedRequest]
    var position = 0
    final class Log: @unchecked Sendable { var statuses: [UInt8] = [] }
    let log = Log()
    var isExhausted: Bool { position == requests.count }
    mutating func next() -> PlannedRequest? {
        guard position < requests.count else { return nil }
        defer { position += 1 }
        return requests[position]
    }
    mutating func fill(_ request: PlannedRequest, data: UnsafeMutableRawPointer) {
        SectorStamp.fill(data, sector: request.sector, length: Int(request.length), seed: 5)
    }
    mutating func completed(_ request: PlannedRequest, status: UInt8, data: UnsafeMutableRawPointer) { log.statuses.append(status) }
}

/// The first sector of `path` in `sectors` that does not hold the stamp of `seed`, or nil.
private func firstMismatch(_ path: String, sectors: Range<UInt64>, seed: UInt64) throws -> UInt64? {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { raw in
        SectorStamp.firstMismatch(raw.baseAddress! + Int(sectors.lowerBound) * 512, sector: sectors.lowerBound, length: sectors.count * 512, seed: seed)
    }
}

private let qsdPresent = FileManager.default.isExecutableFile(atPath: QemuStorageDaemon.executable)

@Suite("vhost-user front-end: the engine's drivers against a real back-end", .serialized)
struct VhostUserFrontEndTests {
    static let capacity: UInt64 = 8 << 20

    static func job(queues: Int, depth: Int = 16, external: ExternalBackEndAttachment) -> EngineJob {
        var job = EngineJob(devices: [VirtioBlkDeviceConfig(numQueues: queues, capacitySectors: capacity / 512)],
                            layout: .roundRobin(iothreadCount: 1, numQueues: queues), backend: .null, target: nil,
                            depth: depth, maxBlock: 65536, duration: nil)
        job.external = external
        return job
    }

    /// An image of `capacity` bytes holding data (not holes), for a back-end to serve.
    static func image(in dir: ScratchDirectory) throws -> String {
        let path = dir.file("disk.img")
        try Data(repeating: 0xA5, count: Int(capacity)).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Stamped writes on both vqs, then reads that check every stamp, a FLUSH and a DISCARD:
    /// every request completes OK, per vq, and the stamps are in the file afterwards.
    static func exercise(_ connect: () throws -> ExternalBackEndAttachment, image: String) throws {
        let blocks = capacity / 16384
        let written = try Engine.run(job(queues: 2, external: try connect())) { _, vq in
            IOPattern(kind: .write, blockSize: 16384, regionBytes: capacity, seed: 1, queue: vq, queues: 2, limit: blocks / 2, verifySeed: 42)
        }
        #expect(written.failures.isEmpty && written.brokenDevices.isEmpty, "\(written.failures) \(written.brokenDevices)")
        #expect(written.queues.map(\.writes) == [blocks / 2, blocks / 2])
        #expect(written.queues.allSatisfy { $0.errors == 0 })
        #expect(try firstMismatch(image, sectors: 0..<(capacity / 512), seed: 42) == nil, "the stamped writes are not all in the image")

        let read = try Engine.run(job(queues: 2, external: try connect())) { _, vq in
            IOPattern(kind: .randread, blockSize: 4096, regionBytes: capacity, seed: 3, queue: vq, queues: 2, limit: 500, verifySeed: 42)
        }
        #expect(read.failures.isEmpty)
        #expect(read.queues.map(\.reads) == [500, 500])
        #expect(read.queues.allSatisfy { $0.errors == 0 })

        // FLUSH, then a DISCARD of the first MiB, then a write past the end (IOERR).
        let script = Script(requests: [PlannedRequest(type: .write, sector: 0, length: 4096), PlannedRequest(type: .flush, sector: 0, length: 0),
                                       PlannedRequest(type: .discard, sector: 2048, length: 1 << 20),
                                       PlannedRequest(type: .write, sector: capacity / 512, length: 4096)])
        let log = script.log
        let misc = try Engine.run(job(queues: 1, depth: 1, external: try connect())) { _, _ in script }
        #expect(misc.failures.isEmpty)
        #expect(log.statuses == [0, 0, 0, 1], "write, flush, discard OK; a write past the end IOERR")
    }

    @Test("against vqtrace's own back-end (both ends ours): stamped writes land in the image, reads check them, FLUSH and DISCARD complete")
    func againstServe() throws {
        let dir = ScratchDirectory()
        let image = try Self.image(in: dir)
        let target = try BlockTarget(path: image, size: Self.capacity)
        var servers: [ServerUnderTest] = []
        try Self.exercise({
            let sub = ScratchDirectory()
            let layout = try LayoutSpec.parse("per-vq", numQueues: 2)
            let server = try ServerUnderTest(dir: sub, numQueues: 2, capacitySectors: Self.capacity / 512) { device in
                try EngineSession(devices: [device], layout: layout, backend: .ioUring, target: target, pin: PinPolicy.none)
            }
            servers.append(server)
            let frontEnd = try VhostUserFrontEnd(socketPath: server.socket)
            #expect(frontEnd.device.capacitySectors == Self.capacity / 512 && frontEnd.device.numQueues == 2)
            return ExternalBackEndAttachment(name: "vhost-user \(server.socket)", features: frontEnd.negotiatedFeatures) { devices in
                try frontEnd.attach(devices[0])
                return frontEnd
            }
        }, image: image)
        // Each server saw its front-end stop its rings and hang up.
        for server in servers { #expect(server.outcome() == .disconnected) }
    }

    @Test("against qemu-storage-daemon: the same requests, the same checks on its image",
          .enabled("needs qemu-storage-daemon (Debian qemu-system-x86)") { qsdPresent })
    func againstQemuStorageDaemon() throws {
        let dir = ScratchDirectory()
        let image = try Self.image(in: dir)
        let metadata = TraceMetadata(devices: [.init(capacitySectors: Self.capacity / 512, numQueues: 2)], source: .init(kind: "synthetic", name: "test"))
        let single = try LayoutSpec.parse("single", numQueues: 2)
        var daemons: [VhostUserReplayBackEnd] = []
        try Self.exercise({
            let backEnd = try VhostUserReplayBackEnd(.qemuStorageDaemon, trace: metadata, copies: 1, layout: single, target: image, writable: true,
                                                     scratch: dir.path)
            #expect(backEnd.name.contains("qemu-storage-daemon version") && backEnd.name.contains("iothread=iothread1"), "\(backEnd.name)")
            daemons.append(backEnd)
            return backEnd.attachment
        }, image: image)
    }

    @Test("a trace that does not fit the back-end's device is refused before anything runs: too large, too many vqs, a layout qsd cannot express",
          .enabled("needs qemu-storage-daemon (Debian qemu-system-x86)") { qsdPresent })
    func refusals() throws {
        let dir = ScratchDirectory()
        let image = try Self.image(in: dir)
        let large = TraceMetadata(devices: [.init(capacitySectors: Self.capacity / 512 * 2, numQueues: 2)], source: .init(kind: "synthetic", name: "t"))
        let single = try LayoutSpec.parse("single", numQueues: 2)
        let error = #expect(throws: VhostUserFrontEndError.self) {
            // qsd serves the file at its size: half of what the trace addresses.
            _ = try VhostUserReplayBackEnd(.qemuStorageDaemon, trace: large, copies: 1, layout: single, target: image, writable: false, scratch: dir.path)
        }
        #expect(error?.isUsage == true && error?.description.contains("larger than the back-end's device") == true, "\(String(describing: error))")
        #expect(error?.description.contains("(16 MiB)") == true, "the sizes read in MiB: \(error?.description ?? "")")
        let fits = TraceMetadata(devices: [.init(capacitySectors: 2048, numQueues: 2)], source: .init(kind: "synthetic", name: "t"))
        let layout = try LayoutSpec.parse("per-vq", numQueues: 2)
        let perVQ = #expect(throws: VhostUserFrontEndError.self) {
            _ = try VhostUserReplayBackEnd(.qemuStorageDaemon, trace: fits, copies: 1, layout: layout, target: image, writable: false, scratch: dir.path)
        }
        #expect(perVQ?.isUsage == true && perVQ?.description.contains("one IOThread") == true)
        let copies = #expect(throws: VhostUserFrontEndError.self) {
            _ = try VhostUserReplayBackEnd(.socket(dir.file("none.sock")), trace: fits, copies: 2, layout: single, target: nil, writable: false)
        }
        #expect(copies?.isUsage == true)
        let nobody = #expect(throws: VhostUserFrontEndError.self) { _ = try VhostUserFrontEnd(socketPath: dir.file("none.sock"), connectTimeout: 0.1) }
        #expect(nobody?.description.contains("cannot connect") == true)
    }

    @Test("a back-end killed mid-run ends the run with an error naming it, in bounded time, and nothing hangs",
          .enabled("needs qemu-storage-daemon (Debian qemu-system-x86)") { qsdPresent })
    func killedBackEnd() throws {
        let dir = ScratchDirectory()
        let image = try Self.image(in: dir)
        let metadata = TraceMetadata(devices: [.init(capacitySectors: Self.capacity / 512, numQueues: 2)], source: .init(kind: "synthetic", name: "test"))
        let backEnd = try VhostUserReplayBackEnd(.qemuStorageDaemon, trace: metadata, copies: 1, layout: try LayoutSpec.parse("single", numQueues: 2),
                                                 target: image, writable: false, scratch: dir.path)
        let pid = try #require(backEnd.daemonPID)
        Thread.detachNewThread {
            usleep(500_000)
            kill(pid, SIGKILL)
        }
        let started = Date()
        let result = try Engine.run(Self.job(queues: 2, external: backEnd.attachment)) { _, vq in
            IOPattern(kind: .randread, blockSize: 4096, regionBytes: Self.capacity, seed: 3, queue: vq, queues: 2, limit: 1 << 40, verifySeed: nil)
        }
        let took = Date().timeIntervalSince(started)
        #expect(took < 15, "the run took \(took) s after its back-end died")
        #expect(result.queues.reduce(0) { $0 + $1.reads } > 0, "it ran before the kill")
        let why = result.brokenDevices.values.first ?? ""
        #expect(why.contains("qemu-storage-daemon was killed by signal 9") || why.contains("closed the connection"), "\(result.brokenDevices) \(result.failures)")
        #expect(!result.failures.isEmpty)
    }

    @Test("a replay through the front-end gives every vq exactly its trace's requests, on vqtrace's back-end")
    func replayCountsPerVQ() throws {
        let dir = ScratchDirectory()
        let image = try Self.image(in: dir)
        let path = dir.file("t.vqt")
        let metadata = TraceMetadata(devices: [.init(capacitySectors: Self.capacity / 512, numQueues: 2)], source: .init(kind: "synthetic", name: "test"))
        let writer = try TraceWriter(path: path, metadata: metadata, options: .init(recordsPerChunk: 300, fsync: .none))
        var counts = [0, 0]
        for i in 0..<2000 {
            let vq = i % 7 == 0 ? 1 : 0
            counts[vq] += 1
            let type: TraceRequestType = i % 5 == 0 ? .write : (i % 97 == 0 ? .flush : .read)
            try writer.append(TraceRecord(device: 0, vq: UInt16(vq), type: type, sector: type == .flush ? 0 : UInt64(i * 8) % (Self.capacity / 512 - 8),
                                          length: type == .flush ? 0 : 4096, submitNs: UInt64(i) * 50_000, completionNs: nil, status: .ok))
        }
        try writer.finish()
        let target = try BlockTarget(path: image, size: Self.capacity)
        let layout = try LayoutSpec.parse("per-vq", numQueues: 2)
        let server = try ServerUnderTest(dir: dir, numQueues: 2, capacitySectors: Self.capacity / 512) { device in
            try EngineSession(devices: [device], layout: layout, backend: .ioUring, target: target, pin: PinPolicy.none)
        }
        let backEnd = try VhostUserReplayBackEnd(.socket(server.socket), trace: metadata, copies: 1, layout: layout, target: nil, writable: true)
        var options = ReplayOptions()
        options.timing = .afap
        let result = try ReplayRunner.run(tracePath: path, target: nil, layoutSpec: "per-vq", backend: .ioUring, options: options, safety: nil,
                                          external: backEnd.attachment)
        #expect(result.engine.failures.isEmpty && result.engine.brokenDevices.isEmpty, "\(result.engine.failures)")
        #expect(result.engine.queues.map { Int($0.requests) } == counts)
        #expect(result.engine.queues.allSatisfy { $0.errors == 0 })
        #expect(result.backEnd == "vhost-user \(server.socket)")
        #expect(server.outcome() == .disconnected)
    }

    @Test("the serve back-end runs vqtrace serve in this process for one replay: counts per vq, writes on the file, nothing left behind")
    func inProcessServe() throws {
        let dir = ScratchDirectory()
        let image = try Self.image(in: dir)
        let metadata = TraceMetadata(devices: [.init(capacitySectors: Self.capacity / 512, numQueues: 2)], source: .init(kind: "synthetic", name: "test"))
        let path = dir.file("t.vqt")
        let writer = try TraceWriter(path: path, metadata: metadata, options: .init(recordsPerChunk: 300, fsync: .none))
        for i in 0..<600 {
            try writer.append(TraceRecord(device: 0, vq: UInt16(i % 2), type: i % 3 == 0 ? .write : .read, sector: UInt64(i * 8) % (Self.capacity / 512 - 8),
                                          length: 4096, submitNs: UInt64(i) * 10_000, completionNs: nil, status: .ok))
        }
        try writer.finish()
        let layout = try LayoutSpec.parse("per-vq", numQueues: 2)
        let backEnd = try VhostUserReplayBackEnd(.serve, trace: metadata, copies: 1, layout: layout, target: image, writable: true, pin: .auto, scratch: dir.path)
        // Under --pin auto serve's first IOThread takes the last CPU, as the engine's would, and the drivers go beside it.
        #expect(backEnd.attachment.serviceCPUs == [ProcessInfo.processInfo.activeProcessorCount - 1])
        var options = ReplayOptions()
        options.timing = .afap
        let result = try ReplayRunner.run(tracePath: path, target: nil, layoutSpec: "per-vq", backend: .ioUring, options: options, safety: nil,
                                          external: backEnd.attachment)
        #expect(result.engine.failures.isEmpty && result.engine.brokenDevices.isEmpty, "\(result.engine.failures)")
        #expect(result.engine.queues.map(\.requests) == [300, 300] && result.engine.queues.allSatisfy { $0.errors == 0 })
        #expect(result.backEnd?.hasPrefix("vqtrace serve (in-process)") == true)
        // The written sectors hold the replay's data (the image was 0xA5 throughout before).
        let data = try Data(contentsOf: URL(fileURLWithPath: image))
        #expect(data[0..<4096].contains { $0 != 0xA5 }, "the first write (sector 0) never reached the file")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("vqtrace-serve-") }.isEmpty, "serve's socket folder is left")

        // A target serve cannot open is said at once, not after a connect timeout.
        let started = Date()
        let missing = #expect(throws: VhostUserFrontEndError.self) {
            _ = try VhostUserReplayBackEnd(.serve, trace: metadata, copies: 1, layout: layout, target: dir.file("absent.img"), writable: false, scratch: dir.path)
        }
        #expect(missing?.description.contains("absent.img") == true, "\(missing?.description ?? "")")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// The pids of `parent`'s children named `name` (as /proc/PID/stat spells the command).
    static func children(of parent: Int32, named name: String) -> [Int32] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        return pids.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return String(stat[stat.index(after: open)..<close]) == name && fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    @Test("a qemu-storage-daemon vqtrace started does not outlive a vqtrace that is killed (SIGKILL)",
          .enabled("needs qemu-storage-daemon (Debian qemu-system-x86)") { qsdPresent })
    func daemonDiesWithVqtrace() throws {
        let dir = ScratchDirectory()
        let child = try RunningChild(vqtraceExecutable(), ["bench", "--target", dir.file("disk.img"), "--size", "16m", "--back-ends", "qsd",
                                                           "--duration", "60s", "--qd", "4"])
        var daemons: [Int32] = []
        let until = Date().addingTimeInterval(60)
        while daemons.isEmpty && Date() < until && child.process.isRunning {
            daemons = Self.children(of: child.process.processIdentifier, named: "qemu-storage-da")
            usleep(20_000)
        }
        let daemon = try #require(daemons.first, "no qemu-storage-daemon started under vqtrace: \(child.text)")
        child.signal(SIGKILL)
        _ = child.finish(timeout: 10)
        // A zombie is dead (a container's init may reap it late).
        func running() -> Bool {
            guard kill(daemon, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(daemon)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return !stat[stat.index(after: close)...].hasPrefix(" Z")
        }
        let gone = Date().addingTimeInterval(5)
        while running() && Date() < gone { usleep(20_000) }
        let alive = running()
        if alive { kill(daemon, SIGKILL) }
        #expect(!alive, "qemu-storage-daemon \(daemon) outlived the vqtrace that started it")
        // The killed vqtrace could not remove the daemon's socket folder; the test does.
        let scratch = NSTemporaryDirectory()
        for left in (try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? [] where left.hasPrefix("vqtrace-qsd-\(child.process.processIdentifier)-") {
            try? FileManager.default.removeItem(atPath: (scratch as NSString).appendingPathComponent(left))
        }
    }
}
