import Foundation
import Trace

/// The host a trace or run row comes from: its name (the hostname, or `--host-label`), CPU
/// model and count, and kernel. A fleet's report compares runs by this name, so two hosts with
/// the same hostname (clones, containers) are told apart with a label.
public struct CatalogHost: Sendable, Equatable, Codable {
    /// The name rows carry: the label when one was given, else the hostname.
    public var name: String
    public var hostname: String
    public var cpuModel: String
    public var cpus: Int
    public var kernel: String

    public init(name: String, hostname: String, cpuModel: String, cpus: Int, kernel: String) {
        self.name = name
        self.hostname = hostname
        self.cpuModel = cpuModel
        self.cpus = cpus
        self.kernel = kernel
    }

    /// This machine, named `label` when one is given (and not empty).
    public static func current(label: String? = nil) -> CatalogHost {
        let facts = TraceMetadata.Host.current()
        let name = label.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } ?? facts.hostname
        return CatalogHost(name: name, hostname: facts.hostname, cpuModel: facts.cpuModel, cpus: facts.onlineCPUs, kernel: facts.kernel)
    }

    /// The facts as `TraceMetadata.Host` (a run's hostJSON), under the row's name.
    public var metadataHost: TraceMetadata.Host {
        TraceMetadata.Host(hostname: name, kernel: kernel, cpuModel: cpuModel, onlineCPUs: cpus)
    }

    /// The model of the disk under `target`: the device itself, or the disk that holds a file
    /// target (through /sys/dev/block, a partition's parent). "null" for the null backend,
    /// "unknown" where sysfs does not say (tmpfs, overlay, a VM without a model string).
    public static func deviceModel(of target: String?) -> String {
        guard let target else { return "null" }
        var st = stat()
        guard stat(target, &st) == 0 else { return "unknown" }
        let device = UInt64((st.st_mode & S_IFMT) == S_IFBLK ? st.st_rdev : st.st_dev)
        // glibc's dev_t encoding (gnu_dev_major and gnu_dev_minor, macros Swift does not import).
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        let base = "/sys/dev/block/\(major):\(minor)"
        for candidate in ["\(base)/device/model", "\(base)/../device/model"] {
            if let model = try? String(contentsOfFile: candidate, encoding: .utf8) {
                let trimmed = model.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { return trimmed }
            }
        }
        return "unknown"
    }
}
