import CLinuxShim
import Engine
import Foundation
import SystemPackage
import SystemSupport
import Units
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// What a vhost-user-blk back-end said its device is (GET_CONFIG, GET_QUEUE_NUM).
public struct VhostUserBlkDeviceInfo: Sendable, Equatable {
    public var capacitySectors: UInt64
    public var numQueues: Int
    public var segMax: UInt32
    public var blockSize: UInt32
    /// The virtio features the back-end offered (without the vhost-user protocol bit).
    public var offeredFeatures: VirtioFeatures
}

/// A vhost-user front-end's failure: the step, the socket and what happened.
public struct VhostUserFrontEndError: UsageMistake, Sendable {
    public let description: String
    /// The back-end cannot serve this trace (too small, too few queues): a usage mistake.
    public let isUsage: Bool
    public var isUsageMistake: Bool { isUsage }
    init(_ description: String, isUsage: Bool = false) {
        self.description = description
        self.isUsage = isUsage
    }
}

/// vqtrace as a vhost-user-blk front-end: the part QEMU plays for a guest. It connects to a
/// back-end's socket, negotiates features and protocol features (MQ, REPLY_ACK, CONFIG), reads the
/// device's config, shares a device's guest memory (its memfd) with SET_MEM_TABLE and sets up
/// every vring with the device's own ring addresses and kick and call eventfds, so that the
/// engine's vCPU drivers run against the back-end as they run against the engine's IOThreads.
/// Every reply is awaited at most `replyTimeout`; a back-end that hangs or closes ends the run.
public final class VhostUserFrontEnd: ExternalBackEnd, @unchecked Sendable {
    public let socketPath: String
    public let device: VhostUserBlkDeviceInfo
    private let socket: OwnedDescriptor
    private let protocolFeatures: VhostUserProtocolFeatures
    private var ringsSet = 0
    private var closed = false
    private static let protocolFeaturesBit: UInt64 = 1 << 30
    /// What the engine's drivers can use (`VirtioBlkDeviceConfig.features`).
    static let wanted: VirtioFeatures = [.version1, .blkFlush, .blkDiscard, .blkWriteZeroes, .blkSegMax, .blkBlockSize, .blkMultiQueue,
                                         .eventIndex, .indirectDescriptors]

    /// Connects (retrying while the socket does not exist yet, up to `connectTimeout` seconds),
    /// negotiates and reads the device config.
    public init(socketPath: String, connectTimeout: Double = 5, replyTimeout: Double = 5) throws(VhostUserFrontEndError) {
        self.socketPath = socketPath
        let until = Date().addingTimeInterval(connectTimeout)
        var fd: Int32 = -1
        var lastErrno: Int32 = 0
        repeat {
            fd = linux_unix_connect(socketPath)
            if fd >= 0 { break }
            lastErrno = errno
            usleep(10_000)
        } while Date() < until
        guard fd >= 0 else {
            throw VhostUserFrontEndError("cannot connect to the vhost-user socket \(socketPath): \(String(cString: strerror(lastErrno))) (is the back-end running?)")
        }
        socket = OwnedDescriptor(FileDescriptor(rawValue: fd))
        var timeout = timeval(tv_sec: Int(replyTimeout), tv_usec: Int((replyTimeout - replyTimeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let offered = try Self.u64(Self.call(fd, socketPath, .getFeatures))
        guard offered & VirtioFeatures.version1.rawValue != 0 else {
            throw VhostUserFrontEndError("the back-end at \(socketPath) does not offer VIRTIO_F_VERSION_1 (features 0x\(String(offered, radix: 16)))")
        }
        guard offered & Self.protocolFeaturesBit != 0 else {
            throw VhostUserFrontEndError("the back-end at \(socketPath) does not offer VHOST_USER_F_PROTOCOL_FEATURES; vqtrace needs its CONFIG message to read the device's size")
        }
        let protocolOffered = VhostUserProtocolFeatures(rawValue: try Self.u64(Self.call(fd, socketPath, .getProtocolFeatures)))
        let protocolFeatures = protocolOffered.intersection([.multiQueue, .replyAck, .config])
        guard protocolFeatures.contains(.config) else {
            throw VhostUserFrontEndError("the back-end at \(socketPath) does not offer the CONFIG protocol feature; vqtrace needs it to read the device's size")
        }
        try Self.send(fd, socketPath, .setProtocolFeatures, .littleEndian(protocolFeatures.rawValue))
        self.protocolFeatures = protocolFeatures
        let queues = protocolFeatures.contains(.multiQueue) ? Int(try Self.u64(Self.call(fd, socketPath, .getQueueNum))) : 1
        try Self.send(fd, socketPath, .setOwner)
        // struct virtio_blk_config up to num_queues and the discard/write-zeroes limits: 60 bytes.
        let config = try Self.call(fd, socketPath, .getConfig, Self.le32(0, 60, 0) + [UInt8](repeating: 0, count: 60))
        guard config.count == 72 else {
            throw VhostUserFrontEndError("the back-end at \(socketPath) answered GET_CONFIG with \(config.count) bytes, not 72")
        }
        let info = config.withUnsafeBytes { c in
            VhostUserBlkDeviceInfo(
                capacitySectors: c.loadUnaligned(fromByteOffset: 12, as: UInt64.self).littleEndian,
                numQueues: offered & VirtioFeatures.blkMultiQueue.rawValue != 0
                    ? Int(c.loadUnaligned(fromByteOffset: 12 + 34, as: UInt16.self).littleEndian) : 1,
                segMax: c.loadUnaligned(fromByteOffset: 12 + 12, as: UInt32.self).littleEndian,
                blockSize: c.loadUnaligned(fromByteOffset: 12 + 20, as: UInt32.self).littleEndian,
                offeredFeatures: VirtioFeatures(rawValue: offered & ~Self.protocolFeaturesBit))
        }
        device = VhostUserBlkDeviceInfo(capacitySectors: info.capacitySectors, numQueues: min(max(1, info.numQueues), max(1, queues)),
                                        segMax: info.segMax, blockSize: info.blockSize, offeredFeatures: info.offeredFeatures)
    }

    /// The features the drivers will use: what both sides know.
    public var negotiatedFeatures: VirtioFeatures { device.offeredFeatures.intersection(Self.wanted) }

    /// Shares `device`'s memory and rings (all its queues, from index 0) and enables them.
    public func attach(_ device: VirtioBlkDevice) throws(VhostUserFrontEndError) {
        guard let mapping = device.mapping else { throw VhostUserFrontEndError("device \(device.config.name) has no memory of its own to share") }
        guard device.queues.count <= self.device.numQueues else {
            throw VhostUserFrontEndError("device \(device.config.name) has \(device.queues.count) vqs; the back-end at \(socketPath) serves \(self.device.numQueues)", isUsage: true)
        }
        try send(.setFeatures, .littleEndian(negotiatedFeatures.rawValue | Self.protocolFeaturesBit), acked: true)
        // One region: the device's guest memory at guest address 0, at its address here.
        let here = UInt64(UInt(bitPattern: mapping.base))
        try send(.setMemTable, Self.le32(1, 0) + .littleEndian(0, UInt64(mapping.size), here, 0), fds: [mapping.fd], acked: true)
        for (vq, endpoint) in device.queues.enumerated() {
            let layout = device.layouts[vq]
            try send(.setVringNum, Self.le32(UInt32(vq), UInt32(device.config.queueSize)))
            try send(.setVringBase, Self.le32(UInt32(vq), 0))
            try send(.setVringAddr, Self.le32(UInt32(vq), 0) + .littleEndian(here + layout.descriptorTable, here + layout.usedRing, here + layout.availRing, 0))
            try send(.setVringKick, .littleEndian(UInt64(vq)), fds: [endpoint.kickFD])
            try send(.setVringCall, .littleEndian(UInt64(vq)), fds: [endpoint.callFD])
            ringsSet = vq + 1
        }
        for vq in 0..<device.queues.count { try send(.setVringEnable, Self.le32(UInt32(vq), 1), acked: true) }
    }

    /// Why the back-end stopped serving: it closed the socket, or sent something unasked.
    public func failure() -> String? {
        guard !closed else { return nil }
        guard linux_wait_readable(socket.rawValue, 0) == 1 else { return nil }
        var byte: UInt8 = 0
        let n = recv(socket.rawValue, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n == 0 || (n < 0 && errno != EAGAIN) { return "the vhost-user back-end at \(socketPath) closed the connection mid-run" }
        return n > 0 ? "the vhost-user back-end at \(socketPath) sent a message nobody asked for" : nil
    }

    /// Stops every ring (GET_VRING_BASE, as QEMU does when a guest stops) and closes.
    public func detach() -> String? {
        guard !closed else { return nil }
        defer {
            closed = true
            shutdown(socket.rawValue, Int32(SHUT_RDWR))
        }
        if failure() != nil { return nil }
        do {
            for vq in 0..<ringsSet { _ = try Self.call(socket.rawValue, socketPath, .getVringBase, Self.le32(UInt32(vq), 0)) }
        } catch {
            return error.description
        }
        return nil
    }

    // MARK: messages

    private func send(_ request: VhostUserRequest, _ payload: [UInt8] = [], fds: [Int32] = [], acked: Bool = false) throws(VhostUserFrontEndError) {
        let ack = acked && protocolFeatures.contains(.replyAck)
        try Self.send(socket.rawValue, socketPath, request, payload, fds: fds, needReply: ack)
        if ack {
            let status = try Self.u64(Self.reply(socket.rawValue, socketPath, to: request))
            guard status == 0 else { throw VhostUserFrontEndError("the back-end at \(socketPath) refused \(request) (status \(status))") }
        }
    }

    private static func send(_ fd: Int32, _ path: String, _ request: VhostUserRequest, _ payload: [UInt8] = [], fds: [Int32] = [],
                             needReply: Bool = false) throws(VhostUserFrontEndError) {
        let header = VhostUserHeader(request: request.rawValue, flags: VhostUserHeader.version | (needReply ? VhostUserHeader.needReplyFlag : 0),
                                     size: UInt32(payload.count))
        let bytes = header.encoded() + payload
        let rc = bytes.withUnsafeBytes { b in fds.withUnsafeBufferPointer { linux_send_with_fds(fd, b.baseAddress, b.count, $0.baseAddress, Int32(fds.count)) } }
        guard rc == 0 else {
            throw VhostUserFrontEndError("sending \(request) to the vhost-user back-end at \(path) failed: \(String(cString: strerror(errno))) (the back-end closed the connection?)")
        }
    }

    private static func call(_ fd: Int32, _ path: String, _ request: VhostUserRequest, _ payload: [UInt8] = []) throws(VhostUserFrontEndError) -> [UInt8] {
        try send(fd, path, request, payload)
        return try reply(fd, path, to: request)
    }

    /// The reply to `request`: its payload, after checking its header.
    private static func reply(_ fd: Int32, _ path: String, to request: VhostUserRequest) throws(VhostUserFrontEndError) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: VhostUserHeader.size)
        var nfds: Int32 = 0, truncated: Int32 = 0
        var fds = [Int32](repeating: -1, count: 4)
        func receive(_ buffer: inout [UInt8]) -> Int {
            let n = buffer.withUnsafeMutableBytes { b in
                fds.withUnsafeMutableBufferPointer { linux_recv_exact_with_fds(fd, b.baseAddress, b.count, $0.baseAddress, 4, &nfds, &truncated) }
            }
            for extra in fds.prefix(Int(nfds)) where extra >= 0 { close(extra) }
            return n
        }
        let n = receive(&header)
        guard n == VhostUserHeader.size else {
            let why = n == 0 ? "it closed the connection" : (errno == EAGAIN || errno == EWOULDBLOCK ? "no reply in time" : String(cString: strerror(errno)))
            throw VhostUserFrontEndError("the vhost-user back-end at \(path) did not answer \(request): \(why)")
        }
        let parsed = header.withUnsafeBytes { VhostUserHeader(bytes: $0) }
        guard parsed.request == request.rawValue, parsed.flags & VhostUserHeader.replyFlag != 0 else {
            throw VhostUserFrontEndError("the vhost-user back-end at \(path) answered \(request) with request \(parsed.request), flags 0x\(String(parsed.flags, radix: 16))")
        }
        guard parsed.size <= VhostUserHeader.maxPayload else {
            throw VhostUserFrontEndError("the vhost-user back-end at \(path) announced a \(parsed.size)-byte reply to \(request)")
        }
        var payload = [UInt8](repeating: 0, count: Int(parsed.size))
        if parsed.size > 0 && receive(&payload) != payload.count {
            throw VhostUserFrontEndError("the vhost-user back-end at \(path) cut its reply to \(request) short")
        }
        return payload
    }

    private static func u64(_ payload: [UInt8]) throws(VhostUserFrontEndError) -> UInt64 {
        guard payload.count == 8 else { throw VhostUserFrontEndError("a vhost-user reply carried \(payload.count) bytes where a u64 belongs") }
        return payload.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
    }

    private static func le32(_ values: UInt32...) -> [UInt8] {
        var out: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }
}
