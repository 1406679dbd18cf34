import SystemSupport
/// The vhost-user requests a virtio-blk back-end handles (QEMU's docs/interop/vhost-user.rst).
public enum VhostUserRequest: UInt32, Sendable, CustomStringConvertible {
    case getFeatures = 1
    case setFeatures = 2
    case setOwner = 3
    case resetOwner = 4
    case setMemTable = 5
    case setLogBase = 6
    case setLogFD = 7
    case setVringNum = 8
    case setVringAddr = 9
    case setVringBase = 10
    case getVringBase = 11
    case setVringKick = 12
    case setVringCall = 13
    case setVringErr = 14
    case getProtocolFeatures = 15
    case setProtocolFeatures = 16
    case getQueueNum = 17
    case setVringEnable = 18
    case getConfig = 24
    case setConfig = 25
    case getMaxMemSlots = 36
    case addMemReg = 37
    case remMemReg = 38

    public var description: String {
        switch self {
        case .getFeatures: return "GET_FEATURES"
        case .setFeatures: return "SET_FEATURES"
        case .setOwner: return "SET_OWNER"
        case .resetOwner: return "RESET_OWNER"
        case .setMemTable: return "SET_MEM_TABLE"
        case .setLogBase: return "SET_LOG_BASE"
        case .setLogFD: return "SET_LOG_FD"
        case .setVringNum: return "SET_VRING_NUM"
        case .setVringAddr: return "SET_VRING_ADDR"
        case .setVringBase: return "SET_VRING_BASE"
        case .getVringBase: return "GET_VRING_BASE"
        case .setVringKick: return "SET_VRING_KICK"
        case .setVringCall: return "SET_VRING_CALL"
        case .setVringErr: return "SET_VRING_ERR"
        case .getProtocolFeatures: return "GET_PROTOCOL_FEATURES"
        case .setProtocolFeatures: return "SET_PROTOCOL_FEATURES"
        case .getQueueNum: return "GET_QUEUE_NUM"
        case .setVringEnable: return "SET_VRING_ENABLE"
        case .getConfig: return "GET_CONFIG"
        case .setConfig: return "SET_CONFIG"
        case .getMaxMemSlots: return "GET_MAX_MEM_SLOTS"
        case .addMemReg: return "ADD_MEM_REG"
        case .remMemReg: return "REM_MEM_REG"
        }
    }
}

/// vhost-user protocol feature bits (GET/SET_PROTOCOL_FEATURES).
public struct VhostUserProtocolFeatures: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let multiQueue = Self(rawValue: 1 << 0)
    public static let replyAck = Self(rawValue: 1 << 3)
    public static let config = Self(rawValue: 1 << 9)
    public static let configureMemSlots = Self(rawValue: 1 << 15)
}

/// The 12-byte header every message starts with, little-endian.
public struct VhostUserHeader: Sendable, Equatable {
    public static let size = 12
    /// Low two bits of `flags`: the protocol version, 1.
    public static let version: UInt32 = 0x1
    public static let replyFlag: UInt32 = 0x4
    public static let needReplyFlag: UInt32 = 0x8
    /// The largest payload this back-end accepts (the protocol's largest is a memory table of 8
    /// regions, 264 bytes; config space is at most 256 + 12).
    public static let maxPayload: UInt32 = 4096

    public var request: UInt32
    public var flags: UInt32
    public var size: UInt32

    public init(request: UInt32, flags: UInt32, size: UInt32) {
        self.request = request
        self.flags = flags
        self.size = size
    }

    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= Self.size)
        request = bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian
        flags = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        size = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
    }

    public var needsReply: Bool { flags & Self.needReplyFlag != 0 }

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for v in [request, flags, size] { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }
}

/// A vhost-user message that broke the protocol, or a socket call that failed: the connection
/// closes with this line logged.
public struct VhostUserProtocolError: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// The system call that failed, when one did (listen, accept, recvmsg, sendmsg, mmap).
    public let cause: SystemCallError?
    public init(_ message: String, cause: SystemCallError? = nil) {
        self.message = message
        self.cause = cause
    }
    /// A failed system call, worded as its own description.
    public init(_ cause: SystemCallError) {
        self.init(cause.description, cause: cause)
    }
    public var description: String { message }
}

/// One message as received: its header, payload bytes and the descriptors that came with it.
public struct VhostUserMessage: Sendable {
    public var header: VhostUserHeader
    public var payload: [UInt8]
    public var fds: [Int32]

    public init(header: VhostUserHeader, payload: [UInt8], fds: [Int32] = []) {
        self.header = header
        self.payload = payload
        self.fds = fds
    }

    public var request: VhostUserRequest? { VhostUserRequest(rawValue: header.request) }
    private var name: String { request?.description ?? "request \(header.request)" }

    /// Checks the payload is exactly `bytes` long.
    func expectPayload(_ bytes: Int) throws(VhostUserProtocolError) {
        guard payload.count == bytes else {
            throw VhostUserProtocolError("\(name) carries \(payload.count) payload bytes, the protocol says \(bytes)")
        }
    }

    /// Checks the message came with exactly `count` descriptors.
    func expectFDs(_ count: Int) throws(VhostUserProtocolError) {
        guard fds.count == count else {
            throw VhostUserProtocolError("\(name) came with \(fds.count) file descriptors, the protocol says \(count)")
        }
    }

    func u64(at offset: Int) -> UInt64 {
        payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian }
    }

    func u32(at offset: Int) -> UInt32 {
        payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian }
    }

    /// A payload that is one u64 (features, a vring index with its flags).
    func singleU64() throws(VhostUserProtocolError) -> UInt64 {
        try expectPayload(8)
        return u64(at: 0)
    }

    /// `struct vhost_vring_state { unsigned int index; unsigned int num; }`.
    func vringState() throws(VhostUserProtocolError) -> (index: Int, num: UInt32) {
        try expectPayload(8)
        return (Int(u32(at: 0)), u32(at: 4))
    }

    /// `struct vhost_vring_addr`: index, flags, then the descriptor table, used and available
    /// rings and the log, as the front-end's own (user-space) addresses.
    func vringAddress() throws(VhostUserProtocolError) -> VringAddress {
        try expectPayload(40)
        return VringAddress(index: Int(u32(at: 0)), flags: u32(at: 4), descriptorTable: u64(at: 8), usedRing: u64(at: 16),
                            availRing: u64(at: 24), log: u64(at: 32))
    }

    /// The memory table: `u32 nregions, u32 padding`, then `nregions` regions of
    /// `guest_phys_addr, memory_size, userspace_addr, mmap_offset` (u64 each), one fd per region.
    func memoryTable() throws(VhostUserProtocolError) -> [MemoryRegionDescription] {
        guard payload.count >= 8 else { throw VhostUserProtocolError("SET_MEM_TABLE carries \(payload.count) bytes, less than its 8-byte count") }
        let count = Int(u32(at: 0))
        guard count >= 1 && count <= 8 else { throw VhostUserProtocolError("SET_MEM_TABLE has \(count) regions (1...8)") }
        guard payload.count >= 8 + count * 32 else {
            throw VhostUserProtocolError("SET_MEM_TABLE has \(count) regions in \(payload.count) bytes (needs \(8 + count * 32))")
        }
        try expectFDs(count)
        return (0..<count).map { i in
            let base = 8 + i * 32
            return MemoryRegionDescription(guestAddress: u64(at: base), size: u64(at: base + 8), frontEndAddress: u64(at: base + 16),
                                           mmapOffset: u64(at: base + 24))
        }
    }

    /// `struct vhost_user_config { u32 offset; u32 size; u32 flags; u8 region[size]; }`.
    func configSpace() throws(VhostUserProtocolError) -> (offset: UInt32, size: UInt32, flags: UInt32) {
        guard payload.count >= 12 else { throw VhostUserProtocolError("\(name) carries \(payload.count) bytes, less than its 12-byte header") }
        let size = u32(at: 4)
        guard size <= 256, payload.count == 12 + Int(size) else {
            throw VhostUserProtocolError("\(name) says \(size) config bytes in a \(payload.count)-byte payload")
        }
        return (u32(at: 0), size, u32(at: 8))
    }
}

/// Where the front-end put a vring, in its own address space.
public struct VringAddress: Sendable, Equatable {
    public var index: Int
    public var flags: UInt32
    public var descriptorTable: UInt64
    public var usedRing: UInt64
    public var availRing: UInt64
    public var log: UInt64
}

/// One region of the guest's memory as the front-end describes it.
public struct MemoryRegionDescription: Sendable, Equatable {
    public var guestAddress: UInt64
    public var size: UInt64
    /// The region's address in the front-end's process (ring addresses use these).
    public var frontEndAddress: UInt64
    /// Where the region starts in the file the descriptor refers to.
    public var mmapOffset: UInt64
}
