import CLinuxShim
import Layout
import Units

/// Where the engine's threads run.
public enum PinPolicy: Sendable, Equatable {
    /// The scheduler decides (a layout's own CPU sets still apply).
    case none
    /// IOThreads on the last CPUs, each vCPU driver thread beside the IOThread of its first vq,
    /// unless the layout says otherwise.
    case auto
    /// IOThreads take the listed CPUs in order, then vCPU drivers, cycling through the list.
    case list([Int])

    /// Parses `auto`, `none` or a CPU list such as `0,2-3`. A listed CPU the process may not run
    /// on (outside `allowedCPUs`, by default its sched_getaffinity set: a container's, cgroup's
    /// or taskset's share) is refused here, before any run, rather than failing when the first
    /// thread is pinned. `option` names the setting in the error.
    public init(parsing text: String, option: String = "pin", allowedCPUs: [Int] = PinPolicy.allowedCPUs()) throws(OptionError) {
        switch text {
        case "auto": self = .auto
        case "none": self = .none
        default:
            let cpus: [Int]
            do { cpus = try CPUSet(parsing: text).cpus } catch {
                throw OptionError(option: option, value: text, problem: "must be auto, none or a CPU list such as 0,2-3 (\(error))",
                                  suggestion: OptionError.nearest(text, in: ["auto", "none"]))
            }
            let allowed = Set(allowedCPUs)
            if let refused = cpus.first(where: { !allowed.contains($0) }) {
                throw OptionError(option: option, value: text,
                                  problem: "CPU \(refused) is not one this process may run on (allowed: \(CPUSet(allowedCPUs)))")
            }
            self = .list(cpus)
        }
    }

    /// The CPUs this process may run on (sched_getaffinity), ascending.
    public static func allowedCPUs() -> [Int] {
        var cpus = [Int32](repeating: 0, count: 8192)
        let count = linux_allowed_cpus(&cpus, Int32(cpus.count))
        guard count > 0 else { return Array(0..<Int(linux_allowed_cpu_count())) }
        return cpus.prefix(Int(count)).map(Int.init)
    }
}
