import ArgumentParser
import Engine

/// `--driver-threads`, for every command that runs vCPU drivers.
struct DriverThreadsOption: ParsableArguments {
    @Option(name: .customLong("driver-threads"), help: "OS threads for the vCPU drivers (one per vq): auto (the CPUs the IOThreads leave, at least 1; each thread keeps one timer for its vqs), per-vq (a thread each, for a host with a CPU per vCPU) or a number.")
    var text = "auto"
    func validate() throws { try flagged { _ = try DriverThreads(parsing: text) } }
    var value: DriverThreads { (try? DriverThreads(parsing: text)) ?? .auto }
}
