#if os(Linux)
import Glibc
#endif
import SystemPackage

/// A file descriptor with one owner, closed when the owner is done with it.
///
/// swift-system's `FileDescriptor` is a plain value: copies of it do not know when the last one
/// goes, so whoever opens must remember to close on every path, including every early `throw`.
/// This one is non-copyable and closes itself in `deinit`: a failing initializer, a `guard` or a
/// thrown error can no longer leak it. Hand the number to C calls with `rawValue`; the owner
/// must outlive those calls (a stored `let` in the object that uses it does).
public struct OwnedDescriptor: ~Copyable, Sendable {
    /// The descriptor; valid until this value is consumed or destroyed.
    public let descriptor: FileDescriptor

    /// Takes ownership of `descriptor`, which must be open and owned by nobody else.
    public init(_ descriptor: FileDescriptor) {
        precondition(descriptor.rawValue >= 0, "OwnedDescriptor of a negative descriptor")
        self.descriptor = descriptor
    }

    /// Takes ownership of the result of a C call that returns a descriptor or −1 with errno set.
    /// - Throws: `SystemCallError` naming `call` and `path` when `rawValue` is negative.
    public init(checking rawValue: Int32, call: String, path: String? = nil, operation: String? = nil) throws(SystemCallError) {
        guard rawValue >= 0 else { throw SystemCallError.last(call, path: path, operation: operation) }
        self.descriptor = FileDescriptor(rawValue: rawValue)
    }

    /// Opens `path` with open(2) flags, retrying EINTR.
    /// - Throws: `SystemCallError` with the path and `operation`.
    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o644, operation: String? = nil) throws(SystemCallError) -> OwnedDescriptor {
        while true {
            let fd = Glibc.open(path, flags, mode)
            if fd >= 0 { return OwnedDescriptor(FileDescriptor(rawValue: fd)) }
            let error = SystemCallError.last("open", path: path, operation: operation)
            if error.errno != .interrupted { throw error }
        }
    }

    /// The descriptor's number, for C calls.
    public var rawValue: Int32 { descriptor.rawValue }

    /// Gives the descriptor up without closing it (someone else owns it now).
    public consuming func release() -> FileDescriptor {
        let fd = descriptor
        discard self
        return fd
    }

    /// Closes now and reports a failed close (which can mean lost writes on some filesystems).
    public consuming func close() throws(SystemCallError) {
        let fd = descriptor.rawValue
        discard self
        if Glibc.close(fd) != 0 { throw SystemCallError.last("close") }
    }

    deinit {
        // A close error here has nowhere to go; callers that care use `close()`.
        _ = Glibc.close(descriptor.rawValue)
    }
}
