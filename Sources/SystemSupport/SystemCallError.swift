#if os(Linux)
import Glibc
#endif
import SystemPackage

/// A system call that failed: which call, its errno, the file it was about (when there is one),
/// what vqtrace was doing at the time and, where a user can fix the cause, what to change.
///
/// The one error type for system-call failures in BlockBackend, Engine, Trace and VhostUser.
/// Errors that describe something richer (a trace file's damaged chunk, a vhost-user protocol
/// violation) carry one of these as their cause instead of a `strerror` string, so a caller can
/// always reach the errno: `error.errno == .notPermitted`.
public struct SystemCallError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The call as a person would look it up: "open", "io_uring_queue_init", "BLKGETSIZE64".
    public var call: String
    public var errno: Errno
    /// The file, device or socket the call was about.
    public var path: String?
    /// What the call was for, in words ("cannot open with O_DIRECT", "filling it with data").
    public var operation: String?
    /// What a user can change to make the call succeed, when vqtrace knows.
    public var advice: String?

    public init(call: String, errno: Errno, path: String? = nil, operation: String? = nil, advice: String? = nil) {
        self.call = call
        self.errno = errno
        self.path = path
        self.operation = operation
        self.advice = advice
    }

    /// The same failure with the thread's current `errno`; call it right after the failing call,
    /// before anything else can change `errno`.
    public static func last(_ call: String, path: String? = nil, operation: String? = nil, advice: String? = nil) -> SystemCallError {
        SystemCallError(call: call, errno: Errno(rawValue: currentErrno()), path: path, operation: operation, advice: advice)
    }

    /// For calls that return −errno (liburing) or an errno value (pthread, posix_fallocate).
    public init(call: String, returned code: Int32, path: String? = nil, operation: String? = nil, advice: String? = nil) {
        precondition(code != 0, "\(call) returned 0, which is not an error")
        self.init(call: call, errno: Errno(rawValue: code < 0 ? -code : code), path: path, operation: operation, advice: advice)
    }

    /// "PATH: OPERATION: CALL failed: MESSAGE (errno N); ADVICE", leaving out the parts it lacks.
    public var description: String {
        var text = ""
        if let path { text += "\(path): " }
        if let operation { text += "\(operation): " }
        text += "\(call) failed: \(errno.description) (errno \(errno.rawValue))"
        if let advice { text += "; \(advice)" }
        return text
    }
}

/// The calling thread's errno (swift-system keeps its own reader internal).
@inline(__always) func currentErrno() -> Int32 {
    #if os(Linux)
    return Glibc.errno
    #else
    #error("vqtrace is Linux-only")
    #endif
}
