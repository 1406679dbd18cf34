import Foundation

/// Why a loop device could not be made.
public enum LoopDeviceError: Error {
    case losetupFailed(String)
}

/// A loop device over a file in a temporary folder, detached and removed on deinit.
public final class LoopDevice {
    public let backing: String
    public let path: String

    /// Whether loop devices can be made here: root, /dev/loop-control, losetup, and a real
    /// attempt (a container may have all three and still refuse), made once.
    public static let available: Bool = {
        guard getuid() == 0, FileManager.default.fileExists(atPath: "/dev/loop-control"),
              FileManager.default.isExecutableFile(atPath: "/usr/sbin/losetup")
        else { return false }
        return (try? LoopDevice(bytes: 1 << 20)) != nil
    }()

    public init(bytes: Int, prefix: [UInt8] = [], at offset: Int = 0) throws {
        backing = FileManager.default.temporaryDirectory.appendingPathComponent("vqtrace-loop-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img").path
        _ = FileManager.default.createFile(atPath: backing, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: backing))
        try handle.truncate(atOffset: UInt64(bytes))
        if !prefix.isEmpty {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: Data(prefix))
        }
        try handle.close()
        let losetup = try runChild("/usr/sbin/losetup", ["--find", "--show", "--direct-io=on", backing])
        path = losetup.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard losetup.status == 0, path.hasPrefix("/dev/loop") else {
            try? FileManager.default.removeItem(atPath: backing)
            throw LoopDeviceError.losetupFailed(backing)
        }
    }

    deinit {
        _ = try? runChild("/usr/sbin/losetup", ["-d", path])
        try? FileManager.default.removeItem(atPath: backing)
    }
}
