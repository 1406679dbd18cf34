import Units
/// Why vqtrace will not use a file target as a run asks; each case names the file, what is
/// wrong and the flag (or the other way) that allows it.
public enum TargetPreparationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Part of what the run reads is holes or unwritten extents, and vqtrace may not fill them
    /// (the file is the user's and `--allow-writes` was not given).
    case unwritten(path: String, unwrittenBytes: UInt64, neededBytes: UInt64)
    /// The run writes, and the file is the user's.
    case writesToUserFile(path: String)
    /// The user's file is smaller than the run needs: growing it is writing to it.
    case tooSmall(path: String, size: UInt64, needed: UInt64)
    /// The user's file carries a disk-image, partition-table or filesystem signature, and the
    /// run would write or fill it.
    case signature(path: String, found: String)
    /// Allocating what the run needs would leave the filesystem less free space than vqtrace keeps.
    case noSpace(path: String, needed: UInt64, free: UInt64, reserve: UInt64)

    public var path: String {
        switch self {
        case .unwritten(let path, _, _), .writesToUserFile(let path), .tooSmall(let path, _, _), .signature(let path, _), .noSpace(let path, _, _, _):
            return path
        }
    }

    public var description: String {
        let bytes = TextFormat.bytes
        switch self {
        case .unwritten(let path, let unwritten, let needed):
            return "\(path): \(bytes(unwritten)) (\(unwritten) bytes) of the \(bytes(needed)) this run may read are holes or unwritten extents, "
                + "which read as zeros without touching the disk, so the run would measure the kernel, not the disk. vqtrace did not create "
                + "this file: pass --allow-writes to let it fill them with data first (that writes to the file), or name a file that does "
                + "not exist yet and vqtrace will create and fill it"
        case .writesToUserFile(let path):
            return "\(path): the run writes, and vqtrace did not create this file: pass --allow-writes to let vqtrace overwrite its data, "
                + "replay with --writes skip or --writes as-reads to leave it unchanged, or name a file that does not exist yet"
        case .tooSmall(let path, let size, let needed):
            return "\(path): holds \(bytes(size)) and the run needs \(bytes(needed)); vqtrace did not create this file: pass --allow-writes "
                + "to let vqtrace grow it and fill the rest with data, or name a file that does not exist yet"
        case .signature(let path, let found):
            return "\(path): begins with a \(found), and vqtrace did not create this file; the run would write to it (or fill it with data) "
                + "and destroy that: pass --destroy-data as well as --allow-writes to use it anyway, or run on a copy"
        case .noSpace(let path, let needed, let free, let reserve):
            return "\(path): the run needs \(bytes(needed)) more on its filesystem, which has \(bytes(free)) free (vqtrace keeps \(bytes(reserve)) free); "
                + "free some space, use a smaller size, a block device, or --sparse-target (only the trace's read ranges are filled)"
        }
    }
}
