#if canImport(Glibc)
import Glibc
#endif

/// Where vqtrace's warnings go: one line each on standard error (so that `--json` output on
/// standard output stays parseable), each starting with "warning: ".
public enum Console {
    /// The line `warn` writes for `message`.
    public static func warningLine(_ message: String) -> String { "warning: \(message)\n" }

    /// Writes `message` as a warning to standard error.
    public static func warn(_ message: String) {
        let line = warningLine(message)
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }
}

extension Console {
    /// Writes `message`, a fact about the work and not a problem (a detected format), as one
    /// line to standard error.
    public static func note(_ message: String) {
        let line = message + "\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }
}
