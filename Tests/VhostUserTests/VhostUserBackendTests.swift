import BlockBackend
import CLinuxShim
import Engine
import Foundation
import Layout
import Testing
import TestSupport
import Virtio
@testable import VhostUser
#if canImport(Glibc)
import Glibc
#endif

/// Plays a vhost-user front-end (QEMU's side) over a real Unix socket.
final class FakeFrontEnd {
    private(set) var fd: Int32

    init(path: String) throws {
        var attempts = 0
        var fd: Int32 = -1
        while fd < 0 && attempts < 200 {
            fd = linux_unix_connect(path)
            if fd < 0 { usleep(5000); attempts += 1 }
        }
        try #require(fd >= 0, "cannot connect to \(path)")
        // A reply that never comes fails the test instead of hanging it.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
    }

    // Closed once: a second close(2) of the same number would close whatever another test
    // (running in parallel) opened under it since, such as a trace writer's file.
    deinit { if fd >= 0 { close(fd) } }

    /// Hangs up, as QEMU does when the guest goes away.
    func hangUp() {
        close(fd)
        fd = -1
    }

    func sendRaw(_ bytes: [UInt8], fds: [Int32] = []) {
        _ = bytes.withUnsafeBytes { b in fds.withUnsafeBufferPointer { linux_send_with_fds(fd, b.baseAddress, b.count, $0.baseAddress, Int32(fds.count)) } }
    }

    func send(_ request: VhostUserRequest, _ payload: [UInt8] = [], fds: [Int32] = [], needReply: Bool = false) {
        let header = VhostUserHeader(request: request.rawValue, flags: 1 | (needReply ? VhostUserHeader.needReplyFlag : 0), size: UInt32(payload.count))
        sendRaw(header.encoded() + payload, fds: fds)
    }

    /// The next reply's payload (checks it answers `request`).
    func reply(to request: VhostUserRequest) throws -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 12)
        var nfds: Int32 = 0, truncated: Int32 = 0
        var fds = [Int32](repeating: -1, count: 4)
        let n = header.withUnsafeMutableBytes { h in fds.withUnsafeMutableBufferPointer { linux_recv_exact_with_fds(fd, h.baseAddress, 12, $0.baseAddress, 4, &nfds, &truncated) } }
        try #require(n == 12, "no reply to \(request)")
        let parsed = header.withUnsafeBytes { VhostUserHeader(bytes: $0) }
        #expect(parsed.request == request.rawValue && parsed.flags == 0x5)
        var payload = [UInt8](repeating: 0, count: Int(parsed.size))
        if parsed.size > 0 {
            let m = payload.withUnsafeMutableBytes { p in fds.withUnsafeMutableBufferPointer { linux_recv_exact_with_fds(fd, p.baseAddress, p.count, $0.baseAddress, 4, &nfds, &truncated) } }
            try #require(m == Int(parsed.size))
        }
        return payload
    }

    func call(_ request: VhostUserRequest, _ payload: [UInt8] = []) throws -> UInt64 {
        send(request, payload)
        let reply = try reply(to: request)
        return reply.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
    }

    /// Sends with NEED_REPLY and checks the ack says success.
    func acked(_ request: VhostUserRequest, _ payload: [UInt8] = [], fds: [Int32] = []) throws {
        send(request, payload, fds: fds, needReply: true)
        let reply = try reply(to: request)
        #expect(reply == .littleEndian(0), "\(request) was not acked")
    }
}

func le32(_ values: UInt32...) -> [UInt8] {
    var out: [UInt8] = []
    for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    return out
}

/// A server on a scratch socket, serving one front-end on a background thread.
final class ServerUnderTest: @unchecked Sendable {
    let socket: String
    let backend: VhostUserBlkBackend
    let stopFD = linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK)
    private let lock = NSLock()
    private var lines: [String] = []
    private var result: VhostUserServer.Outcome?
    private let finished = DispatchSemaphore(value: 0)

    init(dir: ScratchDirectory, numQueues: Int, capacitySectors: UInt64,
         startSession: @escaping (VirtioBlkDevice) throws -> EngineSession = { _ in throw EngineError.configuration("no sessions in this test") }) throws {
        socket = dir.file("vhost.sock")
        let box = LogBox()
        backend = VhostUserBlkBackend(options: VhostUserBlkOptions(numQueues: numQueues, capacitySectors: capacitySectors), log: { box.append($0) }, startSession: startSession)
        let server = try VhostUserServer(socketPath: socket)
        logBox = box
        Thread.detachNewThread { [self] in
            let outcome = server.serveOne(backend: backend, stopFD: stopFD) { box.append($0) }
            lock.lock()
            result = outcome
            lock.unlock()
            finished.signal()
            _ = server  // the socket lives until the serve ends
        }
    }
    let logBox: LogBox

    func outcome(timeout: Double = 10) -> VhostUserServer.Outcome? {
        guard finished.wait(timeout: .now() + timeout) == .success else { return nil }
        finished.signal()
        lock.lock()
        defer { lock.unlock() }
        return result
    }

    deinit { close(stopFD) }
}

final class LogBox: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

@Suite("vhost-user back-end", .serialized)
struct VhostUserBackendTests {
    static let features: UInt64 = VirtioFeatures([.version1, .blkFlush, .blkMultiQueue, .blkSegMax, .blkBlockSize]).rawValue | VhostUserBlkBackend.protocolFeaturesBit
    static let frontEndBase: UInt64 = 0x7f12_3400_0000  // QEMU's own address of guest RAM
    static let guestBase: UInt64 = 0x10_0000

    @Test("a front-end negotiates, shares memory and rings, and the engine serves its writes and reads onto the file")
    func servesRequests() throws {
        let dir = ScratchDirectory()
        let image = dir.file("disk.img")
        var original = [UInt8](repeating: 0, count: 1 << 20)
        for i in original.indices { original[i] = UInt8(truncatingIfNeeded: i &* 7 &+ i >> 9) }
        try Data(original).write(to: URL(fileURLWithPath: image))
        let target = try BlockTarget(path: image, size: 1 << 20)
        let layout = try LayoutSpec.parse("per-vq", numQueues: 2)
        let server = try ServerUnderTest(dir: dir, numQueues: 2, capacitySectors: 2048) { device in
            try EngineSession(devices: [device], layout: layout, backend: .ioUring, target: target, pin: PinPolicy.none)
        }
        let qemu = try FakeFrontEnd(path: server.socket)

        // QEMU's order: features, protocol features, queues, owner, config; SET_FEATURES at start.
        let offered = try qemu.call(.getFeatures)
        #expect(offered & Self.features == Self.features)
        #expect(offered & (1 << 34) == 0)  // no packed rings
        let protocolFeatures = try qemu.call(.getProtocolFeatures)
        #expect(protocolFeatures == VhostUserBlkBackend.offeredProtocolFeatures.rawValue)
        qemu.send(.setProtocolFeatures, .littleEndian(protocolFeatures))
        try qemu.acked(.setFeatures, .littleEndian(Self.features))
        #expect(try qemu.call(.getQueueNum) == 2)
        try qemu.acked(.setOwner)
        qemu.send(.getConfig, le32(0, 60, 0) + [UInt8](repeating: 0, count: 60))
        let config = try qemu.reply(to: .getConfig)
        #expect(config.count == 72)
        config.withUnsafeBytes { c in
            #expect(c.loadUnaligned(fromByteOffset: 12, as: UInt64.self) == 2048)  // capacity
            #expect(c.loadUnaligned(fromByteOffset: 12 + 34, as: UInt16.self) == 2)  // num_queues
            #expect(c.loadUnaligned(fromByteOffset: 12 + 12, as: UInt32.self) == 126)  // seg_max
        }

        // Guest RAM: 4 MiB at guest 1 MiB; QEMU maps it elsewhere in its own address space.
        let ram = try GuestMemoryMapping(size: 4 << 20, guestAddress: Self.guestBase, name: "fake-guest")
        try qemu.acked(.setMemTable, le32(1, 0) + .littleEndian(Self.guestBase, 4 << 20, Self.frontEndBase, 0), fds: [dup(ram.fd)])
        var kicks: [Int32] = [], calls: [Int32] = [], drivers: [SplitVirtqueueDriver] = []
        for q in 0..<2 {
            let layout = try SplitVirtqueueLayout.contiguous(queueSize: 64, at: Self.guestBase + UInt64(q) * 0x10000)
            drivers.append(try SplitVirtqueueDriver(layout: layout, memory: ram.memory, features: VirtioFeatures(rawValue: Self.features & ~VhostUserBlkBackend.protocolFeaturesBit)))
            let va = { (gpa: UInt64) in gpa - Self.guestBase + Self.frontEndBase }
            qemu.send(.setVringNum, le32(UInt32(q), 64))
            qemu.send(.setVringBase, le32(UInt32(q), 0))
            qemu.send(.setVringAddr, le32(UInt32(q), 0) + .littleEndian(va(layout.descriptorTable), va(layout.usedRing), va(layout.availRing), 0))
            kicks.append(linux_eventfd(0, linux_EFD_CLOEXEC))
            calls.append(linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK))
            qemu.send(.setVringKick, .littleEndian(UInt64(q)), fds: [kicks[q]])
            qemu.send(.setVringCall, .littleEndian(UInt64(q)), fds: [calls[q]])
        }
        defer { for fd in kicks + calls { close(fd) } }
        for q in 0..<2 { try qemu.acked(.setVringEnable, le32(UInt32(q), 1)) }
        // Each SET_VRING_ENABLE changes the live rings: the last session serves both.
        #expect(server.logBox.all.last?.contains("started: vrings 0,1; iothread1: vda/0; iothread2: vda/1") == true, "\(server.logBox.all)")

        // A virtio-blk request the way Linux builds one: header, data, status.
        func request(_ q: Int, type: UInt32, sector: UInt64, data: UInt64, length: UInt32, slot: UInt64) throws -> UInt8 {
            let base = Self.guestBase + 0x100000 + slot * 0x2000
            let header = try ram.memory.pointer(base, length: 16)
            header.storeBytes(of: type.littleEndian, toByteOffset: 0, as: UInt32.self)
            header.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
            header.storeBytes(of: sector.littleEndian, toByteOffset: 8, as: UInt64.self)
            try ram.memory.pointer(base + 16, length: 1).storeBytes(of: UInt8(0xFF), as: UInt8.self)
            var buffers = [DriverBuffer(address: base, length: 16, writable: false)]
            if length > 0 { buffers.append(DriverBuffer(address: data, length: length, writable: type == 0)) }
            buffers.append(DriverBuffer(address: base + 16, length: 1, writable: true))
            _ = try #require(buffers.withUnsafeBufferPointer { drivers[q].add($0, token: slot) })
            if drivers[q].publish() { _ = linux_eventfd_write(kicks[q], 1) }
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if let used = try drivers[q].reap() {
                    #expect(used.token == slot)
                    return try ram.memory.pointer(base + 16, length: 1).load(as: UInt8.self)
                }
                if linux_wait_readable(calls[q], 10_000_000) == 1 {
                    var count: UInt64 = 0
                    _ = linux_eventfd_read(calls[q], &count)
                }
            }
            Issue.record("vq \(q): no completion")
            return 0xFF
        }
        let pattern = Self.guestBase + 0x200000
        let patternBytes = try ram.memory.pointer(pattern, length: 4096)
        for i in 0..<4096 { patternBytes.storeBytes(of: UInt8(truncatingIfNeeded: i * 31 + 5), toByteOffset: i, as: UInt8.self) }
        #expect(try request(0, type: 1, sector: 8, data: pattern, length: 4096, slot: 0) == 0)  // OUT on vq 0
        let readBack = Self.guestBase + 0x300000
        #expect(try request(1, type: 0, sector: 8, data: readBack, length: 4096, slot: 1) == 0)  // IN on vq 1
        #expect(memcmp(try ram.memory.pointer(readBack, length: 4096), patternBytes, 4096) == 0)
        #expect(try request(1, type: 0, sector: 0, data: readBack, length: 4096, slot: 2) == 0)
        #expect(Array(UnsafeRawBufferPointer(start: try ram.memory.pointer(readBack, length: 4096), count: 4096)) == Array(original[0..<4096]))
        #expect(try request(0, type: 4, sector: 0, data: 0, length: 0, slot: 3) == 0)  // FLUSH: header and status only
        #expect(try request(1, type: 0, sector: 4096, data: readBack, length: 512, slot: 4) == 1)  // past the end: IOERR

        // Stop: each ring reports where it stopped; the guest's data is on disk.
        #expect(try qemu.call(.getVringBase, le32(0, 0)) == 0 | UInt64(2) << 32)
        #expect(try qemu.call(.getVringBase, le32(1, 0)) == 1 | UInt64(3) << 32)
        let onDisk = try Data(contentsOf: URL(fileURLWithPath: image))
        #expect(Array(onDisk[4096..<8192]) == Array(UnsafeRawBufferPointer(start: patternBytes, count: 4096)))
        #expect(server.logBox.all.contains { $0.contains("ended: 5 requests") }, "\(server.logBox.all)")
        qemu.hangUp()
        #expect(server.outcome() == .disconnected)
    }

    /// Messages a broken or hostile front-end might send, each with the words its error must carry.
    enum Hostile: String, CaseIterable, Sendable {
        case wrongVersion, hugePayload, cutPayload, unknownRequest, shortFeatures, unofferedFeature, noRegions, fdCount,
             vringIndex, oddRingSize, ringOfOne, fdOnPlainMessage, pollingKick, kickBits, unmappableRegion, logBase

        func send(_ q: FakeFrontEnd) {
            switch self {
            case .wrongVersion: q.sendRaw(VhostUserHeader(request: 1, flags: 2, size: 0).encoded())
            case .hugePayload: q.sendRaw(VhostUserHeader(request: 5, flags: 1, size: 1 << 20).encoded())
            case .cutPayload:
                q.sendRaw(VhostUserHeader(request: 2, flags: 1, size: 8).encoded() + [1, 2, 3])
                shutdown(q.fd, Int32(SHUT_WR))
            case .unknownRequest: q.sendRaw(VhostUserHeader(request: 99, flags: 1, size: 0).encoded())
            case .shortFeatures: q.send(.setFeatures, [1, 2, 3, 4])
            case .unofferedFeature: q.send(.setFeatures, .littleEndian(1 << 34 | 1 << 32))
            case .noRegions: q.send(.setMemTable, le32(0, 0))
            case .fdCount: q.send(.setMemTable, le32(2, 0) + [UInt8](repeating: 0, count: 64), fds: [linux_eventfd(0, 0)])
            case .vringIndex: q.send(.setVringNum, le32(7, 64))
            case .oddRingSize: q.send(.setVringNum, le32(0, 100))
            case .ringOfOne: q.send(.setVringNum, le32(0, 1))
            case .fdOnPlainMessage: q.send(.setVringNum, le32(0, 64), fds: [linux_eventfd(0, 0)])
            case .pollingKick: q.send(.setVringKick, .littleEndian(0x100))
            case .kickBits: q.send(.setVringKick, .littleEndian(0x1000), fds: [linux_eventfd(0, 0)])
            case .unmappableRegion: q.send(.setMemTable, le32(1, 0) + .littleEndian(0, 1 << 20, 0, 0), fds: [linux_eventfd(0, 0)])
            case .logBase: q.send(.setLogBase, .littleEndian(0, 0))
            }
        }

        var words: String {
            switch self {
            case .wrongVersion: return "version 2"
            case .hugePayload: return "announces 1048576 payload bytes"
            case .cutPayload: return "ended inside"
            case .unknownRequest: return "unknown request 99"
            case .shortFeatures: return "4 payload bytes"
            case .unofferedFeature: return "did not offer"
            case .noRegions: return "0 regions"
            case .fdCount: return "1 file descriptors"
            case .vringIndex: return "vring 7; the device has 2"
            case .oddRingSize: return "power of two"
            case .ringOfOne: return "from 2 to 32768"
            case .fdOnPlainMessage: return "the protocol says none"
            case .pollingKick: return "polling"
            case .kickBits: return "unknown bits"
            case .unmappableRegion: return "cannot map"
            case .logBase: return "protocol feature"
            }
        }
    }

    @Test("a hostile or broken front-end gets its connection closed with the reason, never a crash", arguments: Hostile.allCases)
    func hostile(_ message: Hostile) throws {
        let dir = ScratchDirectory()
        let server = try ServerUnderTest(dir: dir, numQueues: 2, capacitySectors: 2048)
        let qemu = try FakeFrontEnd(path: server.socket)
        message.send(qemu)
        let outcome = server.outcome()
        guard case .protocolError(let why)? = outcome else {
            Issue.record("\(message): \(String(describing: outcome))")
            return
        }
        #expect(why.contains(message.words), "\(message): \(why)")
    }

    @Test("rings outside the memory table are refused without starting the engine, and the server keeps talking")
    func ringOutsideMemory() throws {
        let dir = ScratchDirectory()
        let started = LogBox()
        let server = try ServerUnderTest(dir: dir, numQueues: 1, capacitySectors: 2048) { _ in
            started.append("started")
            throw EngineError.configuration("unexpected")
        }
        let qemu = try FakeFrontEnd(path: server.socket)
        qemu.send(.setProtocolFeatures, .littleEndian(VhostUserBlkBackend.offeredProtocolFeatures.rawValue))
        try qemu.acked(.setFeatures, .littleEndian(Self.features))
        let ram = try GuestMemoryMapping(size: 1 << 20, guestAddress: Self.guestBase)
        try qemu.acked(.setMemTable, le32(1, 0) + .littleEndian(Self.guestBase, 1 << 20, Self.frontEndBase, 0), fds: [dup(ram.fd)])
        qemu.send(.setVringNum, le32(0, 64))
        qemu.send(.setVringAddr, le32(0, 0) + .littleEndian(Self.frontEndBase + (1 << 20) - 8, Self.frontEndBase, Self.frontEndBase + 4096, 0))
        let kick = linux_eventfd(0, 0), call = linux_eventfd(0, 0)
        defer { close(kick); close(call) }
        qemu.send(.setVringKick, .littleEndian(0), fds: [kick])
        qemu.send(.setVringCall, .littleEndian(0), fds: [call])
        try qemu.acked(.setVringEnable, le32(0, 1))
        #expect(started.all.isEmpty)
        #expect(server.logBox.all.contains { $0.contains("descriptor table") && $0.contains("outside the memory table") }, "\(server.logBox.all)")
        #expect(try qemu.call(.getQueueNum) == 1)  // still talking
        qemu.hangUp()
        #expect(server.outcome() == .disconnected)
    }
}

@Suite("vhost-user GET_CONFIG bounds")
struct VhostUserConfigBoundsTests {
    static func maxResidentKiB() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss
    }

    @Test("GET_CONFIG past the config space closes the connection with the reason, without allocating it")
    func hugeConfigOffset() throws {
        let dir = ScratchDirectory()
        let server = try ServerUnderTest(dir: dir, numQueues: 1, capacitySectors: 2048)
        let qemu = try FakeFrontEnd(path: server.socket)
        let before = Self.maxResidentKiB()
        qemu.send(.setProtocolFeatures, .littleEndian(VhostUserBlkBackend.offeredProtocolFeatures.rawValue))
        // 256 bytes at offset 4 GiB − 256: the old code zero-filled 4 GiB to serve it.
        qemu.send(.getConfig, le32(0xFFFF_FF00, 256, 0) + [UInt8](repeating: 0, count: 256))
        let outcome = server.outcome()
        guard case .protocolError(let why)? = outcome else {
            Issue.record("expected a protocol error, got \(String(describing: outcome))")
            return
        }
        #expect(why.contains("GET_CONFIG asks for 256 bytes at offset 4294967040") && why.contains("the config space has 256"), "\(why)")
        // Peak memory grew by far less than the 4 GiB the request asked for.
        #expect(Self.maxResidentKiB() - before < 256 * 1024)
    }

    @Test("GET_CONFIG within the space still reads the device's config and zeros after it")
    func configWithinWindow() throws {
        let dir = ScratchDirectory()
        let server = try ServerUnderTest(dir: dir, numQueues: 1, capacitySectors: 2048)
        let qemu = try FakeFrontEnd(path: server.socket)
        qemu.send(.setProtocolFeatures, .littleEndian(VhostUserBlkBackend.offeredProtocolFeatures.rawValue))
        qemu.send(.getConfig, le32(56, 200, 0) + [UInt8](repeating: 0, count: 200))
        let reply = try qemu.reply(to: .getConfig)
        #expect(reply.count == 212)
        #expect(reply[12] == 1)  // write_zeroes_may_unmap, byte 56
        #expect(reply[16...].allSatisfy { $0 == 0 })
        close(qemu.fd)
        #expect(server.outcome() == .disconnected)
    }
}
