import CLinuxShim
import Units

/// How many OS threads run the vCPU drivers. A driver (one per vq) keeps its own ring, irqfd,
/// slots, statistics and request stream; a driver thread serves several of them, waking for the
/// earliest deadline among them or a completion on any.
///
/// On a host with fewer CPUs than vqs, one thread per vq means a deadline waits behind the other
/// drivers' time slices; a few threads that each keep a timer for many vqs meet their deadlines
/// instead. `perVQ` is the old model, for hosts with a CPU per vCPU.
public enum DriverThreads: Sendable, Equatable, CustomStringConvertible {
    /// As many threads as the CPUs left after the layout's IOThreads (at least one).
    case auto
    /// One thread per vq.
    case perVQ
    /// Exactly this many (at most one per vq).
    case count(Int)

    /// The most a user may ask for: more would only be threads without a vq.
    public static let maximum = 1024

    /// Parses `auto`, `per-vq` or a number 1...1024; `option` names the setting in the error.
    public init(parsing text: String, option: String = "driver-threads") throws(OptionError) {
        switch text {
        case "auto": self = .auto
        case "per-vq": self = .perVQ
        default:
            guard let n = Int(text), (1...Self.maximum).contains(n) else {
                throw OptionError(option: option, value: text, problem: "must be auto, per-vq or a number of threads 1...\(Self.maximum)",
                                  suggestion: Int(text) == nil ? OptionError.nearest(text, in: ["auto", "per-vq"]) : nil)
            }
            self = .count(n)
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .perVQ: return "per-vq"
        case .count(let n): return "\(n)"
        }
    }

    /// The number of threads for `vqs` drivers beside `iothreads` IOThreads on `cpus` CPUs.
    public func resolve(vqs: Int, iothreads: Int, cpus: Int = Int(linux_allowed_cpu_count())) -> Int {
        precondition(vqs >= 1, "a run without vqs")
        switch self {
        case .auto: return min(vqs, max(1, cpus - iothreads))
        case .perVQ: return vqs
        case .count(let n): return min(vqs, max(1, n))
        }
    }
}
