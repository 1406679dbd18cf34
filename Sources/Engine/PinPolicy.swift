import Layout

/// Where the engine's threads run.
public enum PinPolicy: Sendable, Equatable {
    /// The scheduler decides (a layout's own CPU sets still apply).
    case none
    /// IOThreads on the last CPUs, each vCPU driver thread beside the IOThread of its first vq,
    /// unless the layout says otherwise.
    case auto
    /// IOThreads take the listed CPUs in order, then vCPU drivers, cycling through the list.
    case list([Int])

    /// Parses `auto`, `none` or a CPU list such as `0,2-3`.
    public init(parsing text: String) throws {
        switch text {
        case "auto": self = .auto
        case "none": self = .none
        default:
            do { self = .list(try CPUSet(parsing: text).cpus) } catch {
                throw EngineError.configuration("--pin must be auto, none or a CPU list such as 0,2-3: \(error)")
            }
        }
    }
}
