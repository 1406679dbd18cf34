import ArgumentParser
import Layout

/// `--vm-host-cpus`, shared by `report` and `sweep`: the CPUs of the host the VM will run on
/// that may take IOThreads, for concrete `<iothreadpin>` lines.
struct VMHostOption: ParsableArguments {
    @Option(name: .customLong("vm-host-cpus"), help: ArgumentHelp(
        "CPUs of the host the VM will run on that its IOThreads may have (e.g. 8-11), on the disk's NUMA node and away from the vCPUs; fills in the recommended <iothreadpin> lines. Without it the cpusets are placeholders.",
        valueName: "LIST"))
    var list: String?

    func validate() throws { _ = try cpus() }

    func cpus() throws -> CPUSet? {
        guard let list else { return nil }
        do { return try CPUSet(parsing: list) } catch { throw ValidationError("--vm-host-cpus: \(error)") }
    }
}
