import CLinuxShim
#if canImport(Glibc)
import Glibc
#endif

/// Whether vqtrace made a file. A file vqtrace creates as a target carries the extended
/// attribute `user.vqtrace.created`; such a file holds nothing but test data, so runs may write
/// and fill it without flags, and its first sectors are not checked for signatures (a replay may
/// legitimately have written a guest's ext4 superblock there).
///
/// Every other file is the user's: writing or filling it needs `--allow-writes`. Where the
/// filesystem keeps no user extended attributes (tmpfs before Linux 6.6, some network
/// filesystems), the mark cannot be set: the file then counts as not vqtrace's on every later
/// run, which errs on the side of the user's data (a second run that writes needs the flag).
/// `cp` without `-a` drops the mark too, so a copy of a target is the user's file.
public enum TargetProvenance {
    /// The attribute's name; its value says which vqtrace made the file and when.
    public static let attribute = "user.vqtrace.created"

    /// Marks the open file `fd` as vqtrace's; returns false where the filesystem refused.
    @discardableResult
    public static func mark(fd: Int32) -> Bool {
        let value = Array("vqtrace target file, created \(time(nil)) (unix time); it holds test data only".utf8)
        return value.withUnsafeBytes { linux_fsetxattr(fd, attribute, $0.baseAddress, $0.count) } == 0
    }

    /// Whether the open file `fd` carries vqtrace's mark.
    public static func isMarked(fd: Int32) -> Bool {
        var byte: UInt8 = 0
        // Size 0 asks for the value's length only; ERANGE would mean a value longer than one byte.
        return linux_fgetxattr(fd, attribute, &byte, 0) >= 0
    }

    /// Whether the file at `path` carries vqtrace's mark (false when it cannot be opened).
    public static func isMarked(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return isMarked(fd: fd)
    }
}
