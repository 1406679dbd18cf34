/// Which backend serves the requests.
public enum BackendKind: String, Sendable, CaseIterable {
    case ioUring = "io_uring"
    case threads
    case null
}
