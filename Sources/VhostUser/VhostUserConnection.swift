import CLinuxShim
import SystemPackage
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// One front-end's connection: reads whole messages with their descriptors, writes replies.
public final class VhostUserConnection {
    private let socket: OwnedDescriptor
    /// The connected socket; closed with the connection.
    public var fd: Int32 { socket.rawValue }
    /// More descriptors than this in one message is a protocol error (8 memory regions is the most).
    static let maxFDs = 8

    /// Takes ownership of the connected socket `fd`.
    public init(fd: Int32) { socket = OwnedDescriptor(FileDescriptor(rawValue: fd)) }

    /// The next message, or nil when the front-end closed the connection between messages.
    public func receive() throws(VhostUserProtocolError) -> VhostUserMessage? {
        var header = [UInt8](repeating: 0, count: VhostUserHeader.size)
        var fds = [Int32](repeating: -1, count: Self.maxFDs)
        var count: Int32 = 0
        var truncated: Int32 = 0
        let n = header.withUnsafeMutableBytes { h in
            fds.withUnsafeMutableBufferPointer { f in
                linux_recv_exact_with_fds(fd, h.baseAddress, h.count, f.baseAddress, Int32(Self.maxFDs), &count, &truncated)
            }
        }
        let received = Array(fds.prefix(Int(count)))
        if n == 0 && received.isEmpty { return nil }
        func fail(_ message: String, cause: SystemCallError? = nil) -> VhostUserProtocolError {
            for fd in received { close(fd) }
            return VhostUserProtocolError(message, cause: cause)
        }
        if n < 0 {
            let error = SystemCallError.last("recvmsg", operation: "reading a message header")
            throw fail(error.description, cause: error)
        }
        if truncated != 0 { throw fail("a message came with more than \(Self.maxFDs) file descriptors") }
        let parsed = header.withUnsafeBytes { VhostUserHeader(bytes: $0) }
        guard parsed.flags & 0x3 == VhostUserHeader.version else {
            throw fail("message version \(parsed.flags & 0x3) (flags 0x\(String(parsed.flags, radix: 16))); this back-end speaks version 1")
        }
        guard parsed.flags & VhostUserHeader.replyFlag == 0 else { throw fail("a front-end message has the reply flag set") }
        guard parsed.size <= VhostUserHeader.maxPayload else {
            throw fail("request \(parsed.request) announces \(parsed.size) payload bytes (at most \(VhostUserHeader.maxPayload))")
        }
        var payload = [UInt8](repeating: 0, count: Int(parsed.size))
        if parsed.size > 0 {
            var more: Int32 = 0
            var extra = [Int32](repeating: -1, count: Self.maxFDs)
            let m = payload.withUnsafeMutableBytes { p in
                extra.withUnsafeMutableBufferPointer { f in
                    linux_recv_exact_with_fds(fd, p.baseAddress, p.count, f.baseAddress, Int32(Self.maxFDs), &more, &truncated)
                }
            }
            for fd in extra.prefix(Int(more)) { close(fd) }
            if m <= 0 { throw fail("the connection ended inside a \(parsed.size)-byte payload") }
            if more > 0 { throw fail("file descriptors arrived with a payload instead of its header") }
        }
        return VhostUserMessage(header: parsed, payload: payload, fds: received)
    }

    /// Replies to `request` with `payload`.
    public func reply(to request: UInt32, payload: [UInt8]) throws(VhostUserProtocolError) {
        let header = VhostUserHeader(request: request, flags: VhostUserHeader.version | VhostUserHeader.replyFlag, size: UInt32(payload.count))
        let bytes = header.encoded() + payload
        let rc = bytes.withUnsafeBytes { linux_send_all(fd, $0.baseAddress, $0.count) }
        if rc != 0 { throw VhostUserProtocolError(SystemCallError.last("sendmsg", operation: "writing the reply")) }
    }
}

extension Array where Element == UInt8 {
    /// The bytes of little-endian integers, for reply payloads.
    static func littleEndian(_ values: UInt64...) -> [UInt8] {
        var out: [UInt8] = []
        for v in values { Swift.withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }
}
