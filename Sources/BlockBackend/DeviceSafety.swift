import CLinuxShim
import Foundation
import SystemSupport

/// The checks that stand between a user's typo and a destroyed disk. vqtrace writes to a block
/// device only when none of them objects:
/// - never the disk that holds the root filesystem, nor a device (or a partition of a disk, or
///   the disk of a partition) that is mounted: no flag overrides these;
/// - not a device other kernel users hold (LVM, MD, dm-crypt: `/sys/class/block/X/holders`), nor
///   one whose first sectors carry a partition table or a filesystem signature, unless the user
///   passes the explicit override (`acceptSignatures`);
/// - writes only with `allowWrites`.
///
/// The same two permissions govern regular files that vqtrace did not create (see
/// `TargetProvenance` and `TargetPreparer`): writing or filling such a file needs `allowWrites`,
/// and one whose start carries a disk-image, partition-table or filesystem signature also needs
/// `acceptSignatures`. Read-only runs on such files need neither; files vqtrace created need neither.
public struct DeviceSafety: Sendable {
    /// What the caller allows: writing to a block device or to a file vqtrace did not create
    /// (`--allow-writes`), and using one that carries a signature (`--destroy-data`).
    public var allowWrites: Bool
    public var acceptSignatures: Bool

    public init(allowWrites: Bool = false, acceptSignatures: Bool = false) {
        self.allowWrites = allowWrites
        self.acceptSignatures = acceptSignatures
    }

    /// A block device's kernel name (sda, vda1, loop3) and its whole-disk name.
    struct Identity {
        var name: String
        var disk: String
        var major: UInt32
        var minor: UInt32
    }

    static func identity(of path: String) throws -> Identity {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SystemCallError.last("stat", path: path, operation: "cannot stat") }
        let major = UInt32((st.st_rdev >> 8) & 0xFFF) | UInt32((st.st_rdev >> 32) & ~0xFFF)
        let minor = UInt32(st.st_rdev & 0xFF) | UInt32((st.st_rdev >> 12) & ~0xFF)
        let sysfs = URL(fileURLWithPath: "/sys/dev/block/\(major):\(minor)").resolvingSymlinksInPath()
        let name = sysfs.lastPathComponent
        // A partition's sysfs directory sits inside its disk's.
        let parent = sysfs.deletingLastPathComponent()
        let isPartition = FileManager.default.fileExists(atPath: sysfs.appendingPathComponent("partition").path)
        return Identity(name: name, disk: isPartition ? parent.lastPathComponent : name, major: major, minor: minor)
    }

    /// Devices (by kernel name) that hold mounted filesystems, and the disks they are on.
    static func mountedNames() -> Set<String> {
        var names = Set<String>()
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            guard let source = line.split(separator: " ").first, source.hasPrefix("/dev/") else { continue }
            if let id = try? identity(of: String(source)) {
                names.insert(id.name)
                names.insert(id.disk)
            }
        }
        // The root filesystem's device, even when /proc/self/mounts names it indirectly.
        var root = stat()
        if stat("/", &root) == 0 {
            let major = UInt32((root.st_dev >> 8) & 0xFFF) | UInt32((root.st_dev >> 32) & ~0xFFF)
            let minor = UInt32(root.st_dev & 0xFF) | UInt32((root.st_dev >> 12) & ~0xFF)
            let sysfs = URL(fileURLWithPath: "/sys/dev/block/\(major):\(minor)").resolvingSymlinksInPath()
            if FileManager.default.fileExists(atPath: sysfs.path) {
                names.insert(sysfs.lastPathComponent)
                if FileManager.default.fileExists(atPath: sysfs.appendingPathComponent("partition").path) {
                    names.insert(sysfs.deletingLastPathComponent().lastPathComponent)
                }
            }
        }
        return names
    }

    /// How many bytes of a device's or file's start `signature(in:)` looks at.
    public static let signatureHeadBytes = 68 << 10

    /// The disk-image container format found at the start of a file or device (`head`, its first
    /// bytes) or in its last 512 bytes (`tail`: a fixed VHD has its only footer there), if any.
    /// A container is not a raw disk: serving or replaying it as one would show the guest or the
    /// run the container's metadata, and writing to it destroys the image.
    public static func imageContainer(in head: [UInt8], tail: [UInt8] = []) -> String? {
        func matches(_ pattern: [UInt8], at offset: Int, in bytes: [UInt8] = head) -> Bool {
            bytes.count >= offset + pattern.count && bytes[offset..<offset + pattern.count].elementsEqual(pattern)
        }
        func matches(_ text: String, at offset: Int, in bytes: [UInt8] = head) -> Bool { matches(Array(text.utf8), at: offset, in: bytes) }
        if matches([0x51, 0x46, 0x49, 0xFB], at: 0) { return "qcow2 disk image" }     // "QFI\xfb" (qcow v1 too)
        if matches("QED\0", at: 0) { return "QED disk image" }
        if matches("KDMV", at: 0) || matches("COWD", at: 0) { return "VMDK disk image" }
        if matches("# Disk DescriptorFile", at: 0) { return "VMDK disk descriptor" }
        if matches("vhdxfile", at: 0) { return "VHDX disk image" }
        if matches("conectix", at: 0) || matches("conectix", at: 0, in: tail) { return "VHD disk image" }
        if matches([0x7F, 0x10, 0xDA, 0xBE], at: 64) { return "VDI disk image" }  // 0xbeda107f, little-endian
        if matches("WithoutFreeSpace", at: 0) || matches("WithouFreSpacExt", at: 0) { return "Parallels disk image" }
        return nil
    }

    /// The signature found in a device's or file's first 68 KiB (`bytes`), or a disk-image
    /// footer in its last 512 bytes (`tail`), if any: a disk-image container, a partition table,
    /// a filesystem, or another kernel user's header.
    public static func signature(in bytes: [UInt8], tail: [UInt8] = []) -> String? {
        func matches(_ text: String, at offset: Int) -> Bool {
            let pattern = Array(text.utf8)
            return bytes.count >= offset + pattern.count && Array(bytes[offset..<offset + pattern.count]) == pattern
        }
        if let container = imageContainer(in: bytes, tail: tail) { return container }
        if bytes.count >= 1082 && bytes[1080] == 0x53 && bytes[1081] == 0xEF { return "ext2/3/4 filesystem" }
        if matches("XFSB", at: 0) { return "XFS filesystem" }
        if matches("_BHRfS_M", at: 65600) { return "btrfs filesystem" }
        if matches("EFI PART", at: 512) { return "GPT partition table" }
        if matches("LABELONE", at: 512) || matches("LABELONE", at: 0) { return "LVM physical volume" }
        if bytes.count >= 6 && bytes[0..<6].elementsEqual([0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE]) { return "LUKS header" }
        if matches("SWAPSPACE2", at: 4086) || matches("SWAP-SPACE", at: 4086) { return "swap area" }
        if matches("NTFS    ", at: 3) { return "NTFS filesystem" }
        if matches("FAT32", at: 82) || matches("FAT1", at: 54) { return "FAT filesystem" }
        if matches("hsqs", at: 0) { return "squashfs filesystem" }
        if matches("CD001", at: 32769) { return "ISO 9660 filesystem" }
        if bytes.count >= 512 && bytes[510] == 0x55 && bytes[511] == 0xAA {
            // An MBR: partition entries at 446, 16 bytes each; a non-zero type byte is a partition.
            for entry in 0..<4 where bytes[446 + entry * 16 + 4] != 0 { return "MBR partition table" }
        }
        return nil
    }

    /// The first `signatureHeadBytes` and the last 512 bytes of the open file or block device
    /// `fd` (read with plain preads: nothing is written, the page cache is fine here).
    public static func headAndTail(fd: Int32) -> (head: [UInt8], tail: [UInt8]) {
        var head = [UInt8](repeating: 0, count: signatureHeadBytes)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        head = n > 0 ? Array(head[0..<n]) : []
        var st = stat()
        var size: UInt64 = 0
        if fstat(fd, &st) == 0 {
            if st.st_mode & S_IFMT == S_IFBLK { _ = linux_block_device_size(fd, &size) } else { size = UInt64(max(0, st.st_size)) }
        }
        guard size >= 1024 else { return (head, []) }
        var tail = [UInt8](repeating: 0, count: 512)
        let t = tail.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 512, off_t(size - 512)) }
        return (head, t == 512 ? tail : [])
    }

    /// The signature of the file or device at `path` (see `signature(in:tail:)`), or nil when
    /// there is none or it cannot be read.
    public static func signature(ofPath path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let (head, tail) = headAndTail(fd: fd)
        return signature(in: head, tail: tail)
    }

    /// The disk-image container format of the file or device at `path` (see
    /// `imageContainer(in:tail:)`), or nil when it is raw or cannot be read.
    public static func imageContainer(ofPath path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let (head, tail) = headAndTail(fd: fd)
        return imageContainer(in: head, tail: tail)
    }

    /// Checks `path` (a block device) before anything opens it for I/O; throws the reason to refuse.
    public func check(device path: String, writes: Bool) throws {
        let id = try Self.identity(of: path)
        if Self.mountedNames().contains(id.name) {
            throw BlockTargetError(path: path, problem: "\(id.name) holds a mounted filesystem (or is the disk of one, or the root disk); vqtrace never does I/O to it")
        }
        let holders = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/block/\(id.name)/holders")) ?? []
        if !holders.isEmpty && !acceptSignatures {
            throw BlockTargetError(path: path, problem: "\(id.name) is in use by \(holders.sorted().joined(separator: ", ")) (LVM, MD or dm); pass --destroy-data (or --destroy-data-on-device) to use it anyway")
        }
        if writes && !allowWrites {
            throw BlockTargetError(path: path, problem: "the requests write and this is a block device: pass --allow-writes to let vqtrace overwrite it")
        }
        let descriptor = try OwnedDescriptor.open(path, flags: O_RDONLY | O_CLOEXEC, operation: "cannot open")
        let (head, tail) = Self.headAndTail(fd: descriptor.rawValue)
        if let found = Self.signature(in: head, tail: tail), !acceptSignatures {
            throw BlockTargetError(path: path, problem: "its first sectors hold a \(found); pass --destroy-data (or --destroy-data-on-device) to use it anyway")
        }
    }
}
