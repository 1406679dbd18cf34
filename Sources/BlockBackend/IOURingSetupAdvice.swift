#if os(Linux)
import Glibc
#endif
import SystemPackage

/// What a user can change when an io_uring cannot be set up, by the errno of
/// `io_uring_queue_init` (io_uring_setup(2)). The advice names the knob, not the symptom.
public enum IOURingSetupAdvice {
    /// The advice for `errno` from a ring of `entries` entries, or nil when vqtrace knows none.
    /// - Parameter disabledSetting: the value of `kernel.io_uring_disabled` (nil: the sysctl does
    ///   not exist, or could not be read); read from /proc when not given.
    public static func advice(for errno: Errno, entries: UInt32, disabledSetting: Int? = readDisabledSetting()) -> String? {
        switch errno {
        case .notPermitted, .noFunction, .permissionDenied:
            // EPERM: io_uring_disabled is 2 (or 1 and not in io_uring_group); ENOSYS: a kernel
            // without io_uring or a seccomp profile (Docker's default, some CI sandboxes) that
            // filters io_uring_setup.
            let setting = disabledSetting.map { "sysctl kernel.io_uring_disabled=\($0)" } ?? "sysctl kernel.io_uring_disabled=N"
            return "io_uring is disabled (\(setting), or a seccomp profile): set it to 0, or use --backend threads"
        case .noMemory:
            let limit = memlockLimitText()
            return "the kernel could not pin memory for the ring (RLIMIT_MEMLOCK is \(limit)): raise it with `ulimit -l` "
                + "(or LimitMEMLOCK= in a systemd unit, memlock in /etc/security/limits.conf), or use a smaller --qd"
        case .tooManyOpenFiles, .tooManyOpenFilesInSystem:
            return "too many open files (RLIMIT_NOFILE is \(openFilesLimitText())): raise it with `ulimit -n`, or run fewer IOThreads"
        case .invalidArgument:
            return "the kernel refused a ring of \(entries) entries (it allows at most 32768, older kernels 4096): use a smaller --qd or queue size"
        default:
            return nil
        }
    }

    /// `kernel.io_uring_disabled` (Linux 6.6+), or nil where it does not exist.
    public static func readDisabledSetting() -> Int? {
        let fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 16)
        let n = read(fd, &bytes, bytes.count)
        guard n > 0 else { return nil }
        return Int(String(decoding: bytes[0..<n], as: UTF8.self).trimmingPrefix(" ").prefix { $0.isNumber })
    }

    private static func memlockLimitText() -> String {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit) == 0 else { return "unknown" }
        return limit.rlim_cur == rlim_t.max ? "unlimited" : "\(limit.rlim_cur / 1024) KiB"
    }

    private static func openFilesLimitText() -> String {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return "unknown" }
        return limit.rlim_cur == rlim_t.max ? "unlimited" : "\(limit.rlim_cur)"
    }
}
