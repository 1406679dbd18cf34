import Foundation
import Units

/// How a run's target was prepared before anything was measured: what it is, whether vqtrace
/// made it, how much of what the run needs read as zeros without disk I/O before, and what was
/// filled. Runs carry it (engine and replay results) so that every number comes with the
/// answer to "did this measure the disk?".
public struct TargetPreparation: Sendable, Equatable {
    /// What requests go to.
    public enum Kind: String, Sendable {
        /// A regular file on a filesystem backed by a disk.
        case file
        case blockDevice = "block device"
        /// A regular file in memory (tmpfs, ramfs): there is no disk at all.
        case tmpfs
        /// No target: the null backend completes requests at once.
        case null
        /// A vhost-user back-end someone else started serves its own disk: vqtrace neither
        /// opened nor prepared it (`path` is the socket).
        case backEnd = "back-end's own disk"
    }

    public var kind: Kind
    /// The file or device (nil for the null backend).
    public var path: String?
    /// Whether vqtrace created the file (on this run or an earlier one: it carries vqtrace's mark).
    public var createdByVqtrace: Bool
    /// Whether this run created it.
    public var createdNow: Bool
    /// Whether vqtrace's mark could be set or read (false where the filesystem keeps no user
    /// extended attributes: later runs then treat the file as the user's).
    public var marked: Bool
    /// The file's filesystem type as the kernel names it (ext4, xfs, tmpfs), when known.
    public var filesystem: String?
    /// Only the trace's read ranges have to hold data (`--sparse-target`).
    public var sparse: Bool
    /// The bytes the run needs to hold data: the whole capacity, or a sparse target's read ranges.
    public var neededBytes: UInt64
    /// The run's capacity in bytes.
    public var capacityBytes: UInt64
    /// Of `neededBytes`, how many were holes or unwritten extents before the preparation.
    public var unwrittenBytesBefore: UInt64
    /// Bytes of fill data written, and how long that took.
    public var filledBytes: UInt64
    public var fillSeconds: Double
    /// Of `neededBytes`, how many still read as zeros without disk I/O when the run started
    /// (0 unless the filesystem misreports its extents).
    public var unwrittenBytesAfter: UInt64
    /// How holes and unwritten extents were found (nil for devices and the null backend).
    public var detection: FileAllocation.Method?

    public init(kind: Kind, path: String?, createdByVqtrace: Bool = false, createdNow: Bool = false, marked: Bool = false,
                filesystem: String? = nil, sparse: Bool = false, neededBytes: UInt64 = 0, capacityBytes: UInt64 = 0,
                unwrittenBytesBefore: UInt64 = 0, filledBytes: UInt64 = 0, fillSeconds: Double = 0, unwrittenBytesAfter: UInt64 = 0,
                detection: FileAllocation.Method? = nil) {
        self.kind = kind
        self.path = path
        self.createdByVqtrace = createdByVqtrace
        self.createdNow = createdNow
        self.marked = marked
        self.filesystem = filesystem
        self.sparse = sparse
        self.neededBytes = neededBytes
        self.capacityBytes = capacityBytes
        self.unwrittenBytesBefore = unwrittenBytesBefore
        self.filledBytes = filledBytes
        self.fillSeconds = fillSeconds
        self.unwrittenBytesAfter = unwrittenBytesAfter
        self.detection = detection
    }

    /// A vhost-user back-end's own disk, behind `socket`.
    public static func backEnd(socket: String) -> TargetPreparation { TargetPreparation(kind: .backEnd, path: socket) }

    /// The null backend's: nothing to prepare.
    public static let none = TargetPreparation(kind: .null, path: nil)

    /// Fill throughput in MB/s (10^6 bytes), nil when nothing was filled.
    public var fillMBPerSecond: Double? {
        filledBytes > 0 && fillSeconds > 0 ? Double(filledBytes) / fillSeconds / 1e6 : nil
    }

    /// One line for people: "target /tmp/x.img: file created by vqtrace (ext4), 1.0 GiB filled
    /// with data in 0.9 s (1.19 GB/s); no unwritten extents".
    public var summary: String {
        let name = path ?? "-"
        switch kind {
        case .null:
            return "target: none (null backend: requests complete at once, no I/O)"
        case .backEnd:
            return "target: the disk of the vhost-user back-end at \(name), which vqtrace neither opened nor prepared (not --target): the figures are that disk's"
        case .blockDevice:
            return "target \(name): block device, used as it is (\(TextFormat.bytes(capacityBytes)) needed)"
        case .file, .tmpfs:
            break
        }
        var what: String
        if createdNow {
            what = "new file created by vqtrace"
        } else if createdByVqtrace {
            what = "file created by vqtrace"
        } else {
            what = "existing file not created by vqtrace"
        }
        if let filesystem { what += " (\(filesystem))" }
        if kind == .tmpfs { what += ", in memory: no disk at all, so the run measures memory, not a disk" }
        if createdNow && !marked { what += "; the filesystem keeps no vqtrace mark, so later runs treat it as the user's file" }
        let scope = sparse ? "the trace's read ranges, \(TextFormat.bytes(neededBytes)) of \(TextFormat.bytes(capacityBytes))" : TextFormat.bytes(neededBytes)
        var fill: String
        if filledBytes > 0 {
            fill = "\(TextFormat.bytes(filledBytes)) filled with data in \(String(format: "%.1f", fillSeconds)) s"
            if let rate = fillMBPerSecond { fill += String(format: " (%.2f GB/s)", rate / 1000) }
            if sparse { fill += " (\(scope))" }
        } else {
            fill = "already holds data in \(scope)"
        }
        let state: String
        switch detection {
        case .none?:
            state = "holes and unwritten extents cannot be detected on this filesystem"
        case .seekData?:
            state = unwrittenBytesAfter == 0 ? "no holes" : "\(TextFormat.bytes(unwrittenBytesAfter)) still holes (reads of them touch no disk)"
        case .fiemap?, nil:
            state = unwrittenBytesAfter == 0 ? "no unwritten extents" : "\(TextFormat.bytes(unwrittenBytesAfter)) still unwritten (reads of them touch no disk)"
        }
        return "target \(name): \(what), \(fill); \(state)"
    }
}
