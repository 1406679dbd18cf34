#if canImport(Glibc)
import Glibc
#endif

/// vqtrace never fills a filesystem: whatever it allocates for a target leaves at least 1 GiB
/// and 5% of the filesystem free, so that a run cannot take the space the system (or another
/// engineer's run) needs.
enum FreeSpaceRule {
    /// What allocating `needed` more bytes on the filesystem of `fd` would break, or nil when it
    /// fits (or the filesystem's numbers cannot be read: nothing to check against).
    static func shortfall(fd: Int32, needed: UInt64) -> (free: UInt64, reserve: UInt64)? {
        guard needed > 0 else { return nil }
        var fs = statvfs()
        guard fstatvfs(fd, &fs) == 0 else { return nil }
        let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
        let reserve = max(UInt64(1) << 30, UInt64(fs.f_blocks) * UInt64(fs.f_frsize) / 20)
        return needed + reserve > free ? (free, reserve) : nil
    }
}
