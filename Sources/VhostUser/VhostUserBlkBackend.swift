import CLinuxShim
import Engine
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// What the served virtio-blk device looks like to the guest.
public struct VhostUserBlkOptions: Sendable {
    public var name = "vda"
    public var numQueues: Int
    public var capacitySectors: UInt64
    public var logicalBlockSize: UInt32 = 512
    /// Data segments per request (QEMU's default for a 128-entry queue: 126).
    public var segMax = 126
    public var readOnly = false

    public init(numQueues: Int, capacitySectors: UInt64) {
        self.numQueues = numQueues
        self.capacitySectors = capacitySectors
    }
}

/// The back-end side of the vhost-user protocol for one virtio-blk device: feature and
/// protocol-feature negotiation (MQ, REPLY_ACK, CONFIG), ownership, the memory table, each
/// vring's size, addresses, base, kick, call, error and enable state, GET_VRING_BASE on stop,
/// GET_CONFIG and GET_QUEUE_NUM.
///
/// Requests flow to the engine in sessions: whenever the set of rings a guest has fully set up
/// and enabled changes (the guest's driver starts, stops, or the memory table changes), the
/// running session is stopped, draining what is in flight, and a new one is started over the
/// rings now live, resuming each at its saved available index. Parsing is strict: a message
/// that breaks the protocol throws, and the server closes the connection.
public final class VhostUserBlkBackend {
    /// VHOST_USER_F_PROTOCOL_FEATURES, a virtio feature bit vhost-user borrows.
    public static let protocolFeaturesBit: UInt64 = 1 << 30
    public static let offeredProtocolFeatures: VhostUserProtocolFeatures = [.multiQueue, .replyAck, .config]
    /// Split rings of up to 32768 entries (virtio 1.1, 2.6).
    static let maxQueueSize = 32768
    /// The config space GET_CONFIG reads: virtio_blk_config zero-padded to 256 bytes, the most
    /// a vhost-user config message carries (QEMU's VHOST_USER_MAX_CONFIG_SIZE).
    static let configWindow = 256

    public let options: VhostUserBlkOptions
    public let offeredFeatures: UInt64
    private let startSession: (VirtioBlkDevice) throws -> EngineSession
    private let log: (String) -> Void

    public private(set) var ackedFeatures: UInt64 = 0
    public private(set) var protocolFeatures: VhostUserProtocolFeatures = []
    private var memory: FrontEndMemory?
    private var vrings: [Vring]
    private var running: (session: EngineSession, device: VirtioBlkDevice, live: [Int], memory: FrontEndMemory)?
    /// Sessions started so far, and the requests their IOThreads completed.
    public private(set) var sessionsStarted = 0
    public private(set) var requestsServed: UInt64 = 0

    struct Vring {
        var num = 0
        var address: VringAddress?
        var base: UInt16 = 0
        var kickFD: Int32 = -1
        var callFD: Int32 = -1
        var enabled = false

        mutating func closeFDs() {
            if kickFD >= 0 { close(kickFD) }
            if callFD >= 0 { close(callFD) }
            kickFD = -1
            callFD = -1
        }
    }

    /// - Parameter startSession: starts IOThreads over a device's live rings (the server's layout,
    ///   backend and target).
    public init(options: VhostUserBlkOptions, log: @escaping (String) -> Void, startSession: @escaping (VirtioBlkDevice) throws -> EngineSession) {
        precondition(options.numQueues >= 1 && options.numQueues <= 256)
        self.options = options
        self.log = log
        self.startSession = startSession
        var features: VirtioFeatures = [.version1, .blkSegMax, .blkBlockSize, .blkFlush, .blkMultiQueue, .blkDiscard, .blkWriteZeroes,
                                        .indirectDescriptors, .eventIndex]
        if options.readOnly { features.insert(.blkReadOnly) }
        offeredFeatures = features.rawValue | Self.protocolFeaturesBit
        vrings = Array(repeating: Vring(), count: options.numQueues)
    }

    deinit { shutdown() }

    /// Stops the session, if any, and forgets the guest's rings and memory.
    public func shutdown() {
        stopSession()
        for i in vrings.indices { vrings[i].closeFDs() }
        memory = nil
    }

    /// Whether a reply of "done" is owed for this message (REPLY_ACK) when it has no reply of its own.
    public func owesAck(_ message: VhostUserMessage) -> Bool {
        protocolFeatures.contains(.replyAck) && message.header.needsReply
    }

    /// Handles one message; returns the reply payload for requests that have one.
    public func handle(_ message: VhostUserMessage) throws(VhostUserProtocolError) -> [UInt8]? {
        guard let request = message.request else {
            for fd in message.fds { close(fd) }
            throw VhostUserProtocolError("unknown request \(message.header.request)")
        }
        // Descriptors belong to the three vring fd messages and the memory table only.
        if ![.setMemTable, .setVringKick, .setVringCall, .setVringErr].contains(request) && !message.fds.isEmpty {
            for fd in message.fds { close(fd) }
            throw VhostUserProtocolError("\(request) came with \(message.fds.count) file descriptors, the protocol says none")
        }
        switch request {
        case .getFeatures:
            try message.expectPayload(0)
            return .littleEndian(offeredFeatures)
        case .setFeatures:
            let features = try message.singleU64()
            guard features & ~offeredFeatures == 0 else {
                throw VhostUserProtocolError("SET_FEATURES acks 0x\(String(features & ~offeredFeatures, radix: 16)), which this back-end did not offer")
            }
            guard features & VirtioFeatures.version1.rawValue != 0 else {
                throw VhostUserProtocolError("SET_FEATURES without VIRTIO_F_VERSION_1: legacy drivers are not served")
            }
            if features != ackedFeatures { stopSession() }
            ackedFeatures = features
        case .setOwner:
            try message.expectPayload(0)
        case .resetOwner:
            try message.expectPayload(0)
            shutdown()
            ackedFeatures = 0
        case .getProtocolFeatures:
            try message.expectPayload(0)
            return .littleEndian(Self.offeredProtocolFeatures.rawValue)
        case .setProtocolFeatures:
            let features = VhostUserProtocolFeatures(rawValue: try message.singleU64())
            guard Self.offeredProtocolFeatures.isSuperset(of: features) else {
                throw VhostUserProtocolError("SET_PROTOCOL_FEATURES acks 0x\(String(features.rawValue & ~Self.offeredProtocolFeatures.rawValue, radix: 16)), which this back-end did not offer")
            }
            protocolFeatures = features
        case .getQueueNum:
            try message.expectPayload(0)
            return .littleEndian(UInt64(options.numQueues))
        case .setMemTable:
            let regions: [MemoryRegionDescription]
            do throws(VhostUserProtocolError) { regions = try message.memoryTable() } catch {
                for fd in message.fds { close(fd) }
                throw error
            }
            let mapped = try FrontEndMemory(regions: regions, fds: message.fds)
            // The running session reads the old mapping: it stops before that goes.
            stopSession()
            memory = mapped
            log("memory table: " + regions.map { "guest 0x\(String($0.guestAddress, radix: 16)) +\($0.size >> 20) MiB" }.joined(separator: ", "))
        case .setVringNum:
            let (index, num) = try message.vringState()
            try checkIndex(index, request)
            guard num >= 2, num <= UInt32(Self.maxQueueSize), num.nonzeroBitCount == 1 else {
                throw VhostUserProtocolError("SET_VRING_NUM \(num) for vring \(index): this back-end serves split rings of a power of two from 2 to \(Self.maxQueueSize) entries")
            }
            vrings[index].num = Int(num)
        case .setVringAddr:
            let address = try message.vringAddress()
            try checkIndex(address.index, request)
            vrings[address.index].address = address
        case .setVringBase:
            let (index, num) = try message.vringState()
            try checkIndex(index, request)
            guard num <= 0xFFFF else { throw VhostUserProtocolError("SET_VRING_BASE \(num) for vring \(index) does not fit a 16-bit ring index") }
            vrings[index].base = UInt16(num)
        case .getVringBase:
            let (index, _) = try message.vringState()
            try checkIndex(index, request)
            // The ring stops: finish what is in flight, then report where the guest resumes.
            stopSession()
            vrings[index].closeFDs()
            vrings[index].enabled = false
            reconcile()
            return .littleEndian(UInt64(index) | UInt64(vrings[index].base) << 32)
        case .setVringKick, .setVringCall, .setVringErr:
            let value = try message.singleU64()
            let index = Int(value & 0xFF)
            let noFD = value & 0x100 != 0
            do throws(VhostUserProtocolError) {
                guard value & ~0x1FF == 0 else { throw VhostUserProtocolError("\(request) value 0x\(String(value, radix: 16)) has unknown bits") }
                try checkIndex(index, request)
                try message.expectFDs(noFD ? 0 : 1)
                if noFD && request == .setVringKick {
                    throw VhostUserProtocolError("SET_VRING_KICK without a descriptor asks for polling, which this back-end does not do")
                }
            } catch {
                for fd in message.fds { close(fd) }
                throw error
            }
            let fd = noFD ? -1 : message.fds[0]
            switch request {
            case .setVringKick:
                stopSessionIfServing(index)
                if vrings[index].kickFD >= 0 { close(vrings[index].kickFD) }
                vrings[index].kickFD = fd
                // Without VHOST_USER_F_PROTOCOL_FEATURES a ring starts enabled; with it, only on
                // SET_VRING_ENABLE (vhost-user.rst, "Starting and stopping rings").
                if ackedFeatures & Self.protocolFeaturesBit == 0 { vrings[index].enabled = true }
            case .setVringCall:
                stopSessionIfServing(index)
                if vrings[index].callFD >= 0 { close(vrings[index].callFD) }
                vrings[index].callFD = fd
            default:
                if fd >= 0 { close(fd) }  // errors are reported by stopping the device; the fd is not needed
            }
        case .setVringEnable:
            let (index, num) = try message.vringState()
            try checkIndex(index, request)
            guard num <= 1 else { throw VhostUserProtocolError("SET_VRING_ENABLE \(num) for vring \(index) is neither 0 nor 1") }
            if vrings[index].enabled != (num == 1) { stopSessionIfServing(index) }
            vrings[index].enabled = num == 1
        case .getConfig:
            let (offset, size, _) = try message.configSpace()
            guard protocolFeatures.contains(.config) else { throw VhostUserProtocolError("GET_CONFIG without the CONFIG protocol feature") }
            // Bounded before anything is allocated: offset and size come from the front-end, and
            // offset + size (computed in 64 bits, so it cannot wrap) must lie in the config window.
            guard UInt64(offset) + UInt64(size) <= UInt64(Self.configWindow) else {
                throw VhostUserProtocolError("GET_CONFIG asks for \(size) bytes at offset \(offset); the config space has \(Self.configWindow)")
            }
            var space = blkConfig.configSpace(numQueues: UInt16(options.numQueues))
            // A front-end that knows a longer virtio_blk_config (newer fields) reads zeros there.
            space += [UInt8](repeating: 0, count: Self.configWindow - space.count)
            return Array(message.payload[0..<12]) + Array(space[Int(offset)..<(Int(offset) + Int(size))])
        case .setConfig:
            _ = try message.configSpace()
            log("SET_CONFIG ignored: the device has no writable configuration")
        case .setLogBase, .setLogFD, .getMaxMemSlots, .addMemReg, .remMemReg:
            for fd in message.fds { close(fd) }
            throw VhostUserProtocolError("\(request) needs a protocol feature this back-end did not offer")
        }
        reconcile()
        return nil
    }

    private func checkIndex(_ index: Int, _ request: VhostUserRequest) throws(VhostUserProtocolError) {
        guard index >= 0 && index < options.numQueues else {
            throw VhostUserProtocolError("\(request) for vring \(index); the device has \(options.numQueues)")
        }
    }

    var blkConfig: VirtioBlkConfig {
        VirtioBlkConfig(capacitySectors: options.capacitySectors, logicalBlockSize: options.logicalBlockSize, segMax: UInt32(options.segMax),
                        features: VirtioFeatures(rawValue: (ackedFeatures == 0 ? offeredFeatures : ackedFeatures) & ~Self.protocolFeaturesBit))
    }

    // MARK: Sessions

    /// The rings a session should serve now: memory mapped, the ring sized, placed, kickable and enabled.
    private var liveRings: [Int] {
        guard memory != nil, ackedFeatures != 0 else { return [] }
        return vrings.indices.filter { i in
            let v = vrings[i]
            return v.num > 0 && v.address != nil && v.kickFD >= 0 && v.enabled
        }
    }

    private func stopSessionIfServing(_ index: Int) {
        if let running, running.live.contains(index) { stopSession() }
    }

    /// Stops the session, saving each ring's available index for when it resumes.
    private func stopSession() {
        guard let current = running else { return }
        running = nil
        let statistics = current.session.stop()
        for q in current.device.queues { vrings[q.index].base = q.ring.lastAvailIndex }
        let requests = statistics.reduce(0) { $0 + $1.requests }
        requestsServed += requests
        let broken = current.device.brokenReason.map { "; the guest broke the device: \($0)" } ?? ""
        log("session \(sessionsStarted) ended: \(requests) requests on vrings \(current.live.map(String.init).joined(separator: ","))\(broken)")
    }

    /// Starts a session when the live rings differ from the running session's.
    private func reconcile() {
        let live = liveRings
        if let running, running.live == live { return }
        stopSession()
        guard !live.isEmpty, let memory else { return }
        do {
            let device = try makeDevice(live: live, memory: memory)
            let session = try startSession(device)
            sessionsStarted += 1
            running = (session, device, live, memory)
            log("session \(sessionsStarted) started: vrings \(live.map(String.init).joined(separator: ",")); " + session.assignment.joined(separator: "; "))
        } catch {
            log("cannot serve vrings \(live): \(error)")
        }
    }

    private func makeDevice(live: [Int], memory: FrontEndMemory) throws -> VirtioBlkDevice {
        let features = VirtioFeatures(rawValue: ackedFeatures & ~Self.protocolFeaturesBit)
        var rings: [VirtioBlkDevice.ServedRing] = []
        do {
            for i in live {
                let v = vrings[i]
                let a = v.address!
                let q = UInt64(v.num)
                func guest(_ address: UInt64, _ length: UInt64, _ what: String) throws(VhostUserProtocolError) -> UInt64 {
                    guard let gpa = memory.guestAddress(ofFrontEnd: address, length: length) else {
                        throw VhostUserProtocolError("vring \(i)'s \(what) at 0x\(String(address, radix: 16)) (\(length) bytes) is outside the memory table")
                    }
                    return gpa
                }
                let descriptors = try guest(a.descriptorTable, 16 * q, "descriptor table")
                let avail = try guest(a.availRing, 6 + 2 * q, "available ring")
                let used = try guest(a.usedRing, 6 + 8 * q, "used ring")
                let layout: SplitVirtqueueLayout
                let usedIndex: UInt16
                do {
                    layout = try SplitVirtqueueLayout(queueSize: v.num, descriptorTable: descriptors, availRing: avail, usedRing: used)
                    // Where the device last published: the used ring's index in guest memory.
                    usedIndex = try memory.memory.pointer(layout.usedRing + 2, length: 2).loadUnaligned(as: UInt16.self).littleEndian
                } catch {
                    throw VhostUserProtocolError("vring \(i) cannot be served where it is: \(error)")
                }
                let kick = dup(v.kickFD)
                let call = v.callFD >= 0 ? dup(v.callFD) : linux_eventfd(0, linux_EFD_CLOEXEC)
                rings.append(.init(vq: i, layout: layout, lastAvailIndex: v.base, usedIndex: usedIndex, kickFD: kick, callFD: call))
            }
            var config = VirtioBlkDeviceConfig(name: options.name, numQueues: options.numQueues, queueSize: live.map { vrings[$0].num }.max()!,
                                               capacitySectors: options.capacitySectors, logicalBlockSize: options.logicalBlockSize,
                                               segMax: options.segMax, eventIndex: features.contains(.eventIndex),
                                               indirectDescriptors: features.contains(.indirectDescriptors))
            config.negotiatedFeatures = features
            return try VirtioBlkDevice(serving: rings, memory: memory.memory, regions: memory.hostRegions, config: config)
        } catch let error as VhostUserProtocolError {
            for r in rings {  // translation failed: no device took these
                close(r.kickFD)
                close(r.callFD)
            }
            throw error
        }
    }
}
