import CLinuxShim
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// A listening vhost-user socket that serves one front-end (a QEMU `vhost-user-blk-pci` device)
/// until it disconnects, the server is told to stop, or the front-end breaks the protocol. The
/// control messages are handled on the calling thread; requests run on the engine's IOThreads.
public final class VhostUserServer: @unchecked Sendable {  // immutable after init
    public enum Outcome: Equatable, Sendable {
        /// The front-end closed the connection (QEMU quit or the guest powered off).
        case disconnected
        /// `stopFD` became readable (SIGINT, SIGTERM).
        case stopped
        /// The front-end broke the protocol; the connection was closed.
        case protocolError(String)
    }

    public let socketPath: String
    private let listener: OwnedDescriptor

    public init(socketPath: String) throws(VhostUserProtocolError) {
        self.socketPath = socketPath
        do throws(SystemCallError) {
            listener = try OwnedDescriptor(checking: linux_unix_listen(socketPath), call: "listen", path: socketPath, operation: "cannot listen")
        } catch {
            throw VhostUserProtocolError(error)
        }
    }

    deinit {
        unlink(socketPath)
    }

    /// Waits for a front-end, then serves it with `backend`. Messages are logged through `log`
    /// when `traceMessages` is set.
    public func serveOne(backend: VhostUserBlkBackend, stopFD: Int32, traceMessages: Bool = false, log: (String) -> Void) -> Outcome {
        defer { backend.shutdown() }
        guard let connectionFD = wait(for: listener.rawValue, orStop: stopFD) else { return .stopped }
        let fd = accept(connectionFD, nil, nil)
        if fd < 0 { return .protocolError(SystemCallError.last("accept", path: socketPath, operation: "accepting a front-end").description) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let connection = VhostUserConnection(fd: fd)
        log("front-end connected on \(socketPath)")
        while true {
            guard wait(for: fd, orStop: stopFD) != nil else { return .stopped }
            do throws(VhostUserProtocolError) {
                guard let message = try connection.receive() else {
                    log("front-end disconnected")
                    return .disconnected
                }
                if traceMessages {
                    log("<- \(message.request?.description ?? "request \(message.header.request)") \(message.payload.count) bytes, \(message.fds.count) fds")
                }
                let owesAck = backend.owesAck(message)
                if let reply = try backend.handle(message) {
                    try connection.reply(to: message.header.request, payload: reply)
                } else if owesAck {
                    try connection.reply(to: message.header.request, payload: .littleEndian(0))
                }
            } catch {
                log("closing the connection: \(error)")
                return .protocolError(error.message)
            }
        }
    }

    /// `fd` when it is readable, nil when `stopFD` is (or poll fails).
    private func wait(for fd: Int32, orStop stopFD: Int32) -> Int32? {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
        while true {
            let rc = poll(&fds, 2, -1)
            if rc < 0 && errno == EINTR { continue }
            if rc < 0 || fds[1].revents != 0 { return nil }
            if fds[0].revents != 0 { return fd }
        }
    }
}
