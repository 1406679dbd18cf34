import CLinuxShim
#if canImport(Glibc)
import Glibc
#endif

/// A failure to open or prepare a target, naming the path.
public struct BlockTargetError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String
    public var description: String { "\(path): \(problem)" }
}

/// The file requests go to, opened with O_DIRECT (the page cache would measure memory, not the
/// disk). Only regular files for now: block devices get their safety checks with replay.
public final class BlockTarget: @unchecked Sendable {
    public let path: String
    public let fd: Int32
    public let size: UInt64

    /// Opens `path`, creating it or growing it to `size` bytes when needed (never shrinking).
    public init(path: String, size: UInt64, direct: Bool = true) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            throw BlockTargetError(path: path, problem: "not a regular file (devices are refused until replay brings its safety checks; use a file)")
        }
        let flags = O_RDWR | O_CREAT | O_CLOEXEC | (direct ? linux_O_DIRECT : 0)
        let opened = open(path, flags, 0o644)
        if opened < 0 {
            throw BlockTargetError(path: path, problem: "cannot open\(direct ? " with O_DIRECT" : ""): \(String(cString: strerror(errno)))")
        }
        fstat(opened, &st)
        let current = UInt64(st.st_size)
        if current < size {
            // Allocate for real: a sparse file would read holes without touching the disk.
            let rc = posix_fallocate(opened, 0, off_t(size))
            if rc != 0 && ftruncate(opened, off_t(size)) != 0 {
                close(opened)
                throw BlockTargetError(path: path, problem: "cannot grow to \(size) bytes: \(String(cString: strerror(rc)))")
            }
        }
        fd = opened
        self.size = max(size, current)
    }

    deinit { close(fd) }
}
