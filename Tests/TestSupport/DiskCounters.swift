import Foundation

/// The kernel's read counter (/sys/dev/block/MAJ:MIN/stat, as /proc/diskstats shows it) of the
/// block device that holds a file: proof that a run's reads reached a disk, not the page cache
/// or the kernel's zero-fill of holes.
public struct DiskCounters {
    /// The device's kernel name (vda, nvme0n1p2, dm-0).
    public let device: String
    let statPath: String

    /// The counters of the device under `path`'s filesystem, or why there are none (tmpfs and
    /// overlay have no block device; a container may hide /sys).
    public static func holding(_ path: String) -> Result<DiskCounters, Reason> {
        var st = stat()
        guard stat(path, &st) == 0 else { return .failure(Reason("cannot stat \(path)")) }
        let major = UInt32((st.st_dev >> 8) & 0xFFF) | UInt32((st.st_dev >> 32) & ~0xFFF)
        let minor = UInt32(st.st_dev & 0xFF) | UInt32((st.st_dev >> 12) & ~0xFF)
        if major == 0 { return .failure(Reason("\(path) is on a filesystem without a block device (device \(major):\(minor): tmpfs, overlay, …)")) }
        let sysfs = URL(fileURLWithPath: "/sys/dev/block/\(major):\(minor)").resolvingSymlinksInPath()
        let stat = sysfs.appendingPathComponent("stat").path
        guard FileManager.default.fileExists(atPath: stat) else { return .failure(Reason("no \(stat) for device \(major):\(minor)")) }
        let counters = DiskCounters(device: sysfs.lastPathComponent, statPath: stat)
        guard counters.sectorsRead() != nil else { return .failure(Reason("\(stat) cannot be read")) }
        return .success(counters)
    }

    /// 512-byte sectors read since boot (the third field).
    public func sectorsRead() -> UInt64? {
        guard let text = try? String(contentsOfFile: statPath, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        return fields.count > 2 ? UInt64(fields[2]) : nil
    }

    public struct Reason: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}

/// The SHA-256 of a file (sha256sum), to show that a refused run left it byte-for-byte alone.
public func sha256(ofFile path: String) throws -> String {
    let result = try runChild("/usr/bin/sha256sum", [path])
    return String(result.text.prefix(64))
}
