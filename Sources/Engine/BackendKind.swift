/// Which backend serves the requests.
public enum BackendKind: String, Sendable, CaseIterable {
    case ioUring = "io_uring"
    case threads
    case null
    /// qemu-storage-daemon on the target, reached as a vhost-user-blk front-end (replay starts it).
    case qsd
}
