import CLinuxShim
import SystemPackage
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// A target that cannot be used as asked, naming the path and the rule (a system call that
/// fails throws `SystemCallError` instead, with the same path).
public struct BlockTargetError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String
    public var description: String { "\(path): \(problem)" }

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }
}

/// What requests go to, opened with O_DIRECT (the page cache would measure memory, not the
/// disk): a regular file (created or grown as needed) or a block device that passes
/// `DeviceSafety`'s checks.
///
/// Opening is all it does. A file it creates or grows is allocated with fallocate and reads as
/// zeros without touching the disk: right for a new guest disk (`vqtrace serve`), wrong for a
/// measurement. Runs that measure go through `TargetPreparer`, which fills such ranges with data
/// and enforces the rules for files vqtrace did not create, before it opens the target here.
public final class BlockTarget: @unchecked Sendable {
    public let path: String
    /// Closed when the target goes.
    private let descriptor: OwnedDescriptor
    /// The open descriptor, for the backends' system calls; valid while the target lives.
    public var fd: Int32 { descriptor.rawValue }
    public let size: UInt64
    /// DISCARD and WRITE_ZEROES use BLKDISCARD/BLKZEROOUT on devices, fallocate on files.
    public let isBlockDevice: Bool

    /// Opens `path` for a run that needs `size` bytes and may `write`.
    /// - Parameter safety: required for block devices (nil refuses them, naming the flags).
    /// - Parameter sparse: grow a file with holes instead of allocating it (holes read without
    ///   touching the disk, so reads of never-written ranges measure nothing).
    public init(path: String, size: UInt64, direct: Bool = true, writes: Bool = true, safety: DeviceSafety? = nil, sparse: Bool = false) throws {
        self.path = path
        var st = stat()
        let exists = stat(path, &st) == 0
        let kind = st.st_mode & S_IFMT
        if exists && kind == S_IFBLK {
            guard let safety else {
                throw BlockTargetError(path: path, problem: "a block device: pass --allow-writes (and read the safety rules in --help) to use one")
            }
            try safety.check(device: path, writes: writes)
            let opened = try OwnedDescriptor.open(path, flags: (writes ? O_RDWR : O_RDONLY) | O_CLOEXEC | (direct ? linux_O_DIRECT : 0),
                                                  operation: "cannot open")
            var bytes: UInt64 = 0
            if linux_block_device_size(opened.rawValue, &bytes) != 0 {
                throw SystemCallError.last("ioctl BLKGETSIZE64", path: path, operation: "reading the device's size")
            }
            if bytes < size {
                throw BlockTargetError(path: path, problem: "the device has \(bytes) bytes; the run needs \(size)")
            }
            descriptor = opened
            self.size = bytes
            isBlockDevice = true
            return
        }
        if exists && kind != S_IFREG {
            throw BlockTargetError(path: path, problem: "neither a regular file nor a block device")
        }
        // A run that does not write opens an existing, large enough file read-only: a user's
        // file (even one without write permission) stays untouched.
        let readOnly = !writes && exists && UInt64(st.st_size) >= size
        let flags = (readOnly ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC | (direct ? linux_O_DIRECT : 0)
        // A failure below closes `opened` on the way out (it owns the descriptor).
        let opened = try OwnedDescriptor.open(path, flags: flags, operation: "cannot open\(direct ? " with O_DIRECT" : "")")
        fstat(opened.rawValue, &st)
        let current = UInt64(st.st_size)
        if current < size {
            if sparse {
                if ftruncate(opened.rawValue, off_t(size)) != 0 {
                    throw SystemCallError.last("ftruncate", path: path, operation: "cannot grow to \(size) bytes")
                }
            } else {
                // Allocate (the space is reserved and a full disk fails here, not mid-run), but
                // never fill the filesystem.
                let needed = size - current
                if let (free, reserve) = FreeSpaceRule.shortfall(fd: opened.rawValue, needed: needed) {
                    if current == 0 { unlink(path) }
                    throw BlockTargetError(path: path, problem: "growing it to \(size) bytes needs \(needed) more, and the filesystem has \(free) free (vqtrace keeps \(reserve) free); use a block device or a smaller size")
                }
                let rc = posix_fallocate(opened.rawValue, 0, off_t(size))
                if rc != 0 {
                    throw SystemCallError(call: "posix_fallocate", returned: rc, path: path, operation: "cannot allocate \(size) bytes")
                }
            }
        }
        descriptor = opened
        self.size = max(size, current)
        isBlockDevice = false
    }

    /// DISCARD or WRITE_ZEROES done synchronously (BLKDISCARD/BLKZEROOUT on a device, fallocate
    /// on a file); returns 0 or −errno.
    public func deallocate(_ operation: BlockOperation, offset: UInt64, length: UInt64) -> Int32 {
        let rc: Int32
        switch (operation, isBlockDevice) {
        case (.discard, true): rc = linux_block_discard(fd, offset, length)
        case (.writeZeroes, true): rc = linux_block_zeroout(fd, offset, length)
        case (.discard, false): rc = linux_fallocate(fd, FallocateMode.discard, Int64(offset), Int64(length))
        default: rc = linux_fallocate(fd, FallocateMode.writeZeroes, Int64(offset), Int64(length))
        }
        return rc == 0 ? 0 : -errno
    }
}
