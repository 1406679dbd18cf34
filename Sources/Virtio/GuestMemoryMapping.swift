import CLinuxShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns host memory that backs guest memory: a memfd mapped shared, so that the same pages can
/// be handed to another process (a vhost-user peer, or a driver in a child process).
///
/// The mapping is unmapped and the fd closed when the object is released; every `GuestMemory`
/// made from it must not outlive it.
public final class GuestMemoryMapping: @unchecked Sendable {
    /// Guest memory view over this mapping (one region).
    public let memory: GuestMemory
    /// The memfd holding the pages; -1 when the mapping is anonymous-private.
    public let fd: Int32
    public let size: Int
    public let base: UnsafeMutableRawPointer

    /// Errors from the system calls that create the mapping, with errno.
    public enum MappingError: Error, CustomStringConvertible {
        case system(call: String, errno: Int32)
        case invalidSize(Int)
        public var description: String {
            switch self {
            case let .system(call, code): return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
            case let .invalidSize(size): return "guest memory size \(size) must be positive"
            }
        }
    }

    /// Creates `size` bytes of zeroed, shareable memory at guest-physical `guestAddress`.
    public init(size: Int, guestAddress: UInt64 = 0, name: String = "vqtrace-guest") throws {
        guard size > 0 else { throw MappingError.invalidSize(size) }
        let fd = linux_memfd_create(name, linux_MFD_CLOEXEC)
        guard fd >= 0 else { throw MappingError.system(call: "memfd_create", errno: errno) }
        guard ftruncate(fd, off_t(size)) == 0 else {
            let code = errno
            close(fd)
            throw MappingError.system(call: "ftruncate", errno: code)
        }
        guard let raw = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), raw != MAP_FAILED else {
            let code = errno
            close(fd)
            throw MappingError.system(call: "mmap", errno: code)
        }
        self.fd = fd
        self.size = size
        self.base = raw
        self.memory = try GuestMemory(regions: [
            GuestMemoryRegion(guestAddress: guestAddress, size: UInt64(size), host: raw)
        ])
    }

    deinit {
        munmap(base, size)
        if fd >= 0 { close(fd) }
    }
}
