import Layout

/// Where to pin the recommended layout's IOThreads. The advice is for the host the VM will run
/// on, which is rarely the host that measured: concrete CPUs only when the user names the VM
/// host's (`--vm-host-cpus`), else the rule and placeholders that libvirt refuses until replaced.
enum PinningAdvice {
    /// The libvirt cpuset placeholder for IOThread `n` (its libvirt number).
    static func placeholder(_ n: Int) -> String { "VM_HOST_CPU_\(n)" }

    static let qemuNote = "QEMU cannot pin IOThreads itself: use libvirt's <iothreadpin> (below), or taskset -pc CPU TID with the thread ids QMP's query-iothreads reports."

    /// Pins `layout`'s IOThreads to `vmHostCPUs` (one CPU each, in order; round-robin when there
    /// are fewer CPUs than IOThreads) and returns the advice to print.
    static func apply(_ layout: inout IOThreadLayout, vmHostCPUs: CPUSet?) -> String {
        guard let given = vmHostCPUs, !given.cpus.isEmpty else {
            return "Pin each IOThread to its own CPU of the VM host, on the disk's NUMA node (/sys/class/block/DISK/device/numa_node, and lscpu for the node's CPUs), away from the vCPUs and the emulator thread. The libvirt cpusets below are placeholders (\(placeholder(1)), …) that libvirt refuses until they are replaced; `--vm-host-cpus LIST` on report or sweep fills them in. " + qemuNote
        }
        let cpus = given.cpus
        for i in layout.iothreads.indices {
            layout.iothreads[i].cpus = CPUSet([cpus[i % cpus.count]])
        }
        let shown = layout.iothreads.prefix(4).map { "\($0.id) → CPU \($0.cpus!)" }.joined(separator: ", ") + (layout.iothreads.count > 4 ? ", …" : "")
        let count = layout.iothreads.count
        var advice: String
        if cpus.count >= count {
            advice = "Each IOThread is pinned to its own CPU of the VM host from --vm-host-cpus \(given) (\(shown))."
            if cpus.count > count { advice += " \(cpus.count - count) of the CPUs given are left for other work." }
        } else {
            advice = "The \(count) IOThreads share the \(cpus.count) CPU\(cpus.count == 1 ? "" : "s") of --vm-host-cpus \(given) in turn (\(shown)): with fewer CPUs than IOThreads, part of what more IOThreads gain is lost."
        }
        return advice + " Keep the vCPUs and the emulator thread off these CPUs (<vcpupin>, <emulatorpin>), and check that they are on the disk's NUMA node. " + qemuNote
    }
}
