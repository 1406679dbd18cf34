import CLinuxShim
import Foundation
#if canImport(Glibc)
import Glibc
import SystemSupport
#endif

/// What a run needs from its target.
public struct TargetRequirements: Sendable {
    public var path: String
    /// The bytes the run addresses (the largest device's capacity).
    public var capacity: UInt64
    /// Whether any request writes (or deallocates).
    public var writes: Bool
    /// Grow a file with holes instead of allocating the whole capacity; then only `readRanges`
    /// are filled with data.
    public var sparse: Bool
    /// The byte ranges the run reads (a trace's footprint); nil means all of the capacity. Only
    /// a sparse target uses them: otherwise the whole capacity is filled.
    public var readRanges: [Range<UInt64>]?
    /// Open with O_DIRECT (the page cache would measure memory).
    public var direct: Bool

    public init(path: String, capacity: UInt64, writes: Bool, sparse: Bool = false, readRanges: [Range<UInt64>]? = nil, direct: Bool = true) {
        self.path = path
        self.capacity = capacity
        self.writes = writes
        self.sparse = sparse
        self.readRanges = readRanges
        self.direct = direct
    }
}

/// Makes a target fit to be measured, then opens it. Prepare once, check every run:
///
/// - A file that does not exist is created (and marked as vqtrace's, `TargetProvenance`),
///   allocated to the capacity (or, `sparse`, grown with holes), and the ranges the run needs
///   are filled with data (`TargetFill`).
/// - An existing file is mapped (`FileAllocation`: FIEMAP, or SEEK_DATA/SEEK_HOLE): holes and
///   unwritten extents in the needed ranges are filled, so a sweep's first run fills and later
///   runs find nothing to do, and a replay's DISCARD or WRITE_ZEROES that left holes behind is
///   filled again before the next run measures.
/// - A file vqtrace did not create is the user's: writing, filling or growing it needs
///   `allowWrites`, and one that carries a signature also needs `acceptSignatures`. A read-only
///   run on a user's file whose needed ranges already hold data needs neither. Nothing is
///   written before every check has passed, so a refusal leaves the file as it was.
/// - Block devices are opened through `BlockTarget` with `DeviceSafety`'s checks, as they are.
public enum TargetPreparer {
    /// Prepares and opens `requirements.path`; `progress` hears about a fill as it goes, and
    /// `shouldStop` can end a long fill early (an error; a new file is removed again).
    public static func prepare(_ requirements: TargetRequirements, safety: DeviceSafety?, progress: TargetFill.ProgressHandler? = nil,
                               shouldStop: (@Sendable () -> Bool)? = nil) throws -> (target: BlockTarget, preparation: TargetPreparation) {
        let path = requirements.path
        let capacity = requirements.capacity
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists && st.st_mode & S_IFMT == S_IFBLK {
            let target = try BlockTarget(path: path, size: capacity, direct: requirements.direct, writes: requirements.writes, safety: safety)
            return (target, TargetPreparation(kind: .blockDevice, path: path, neededBytes: capacity, capacityBytes: capacity))
        }
        if exists && st.st_mode & S_IFMT != S_IFREG {
            throw BlockTargetError(path: path, problem: "neither a regular file nor a block device")
        }
        let needed = requirements.sparse
            ? ByteRanges.aligned(requirements.readRanges ?? [0..<capacity], to: TargetFill.alignment, limit: capacity)
            : (capacity > 0 ? [0..<capacity] : [])
        var preparation = TargetPreparation(kind: .file, path: path, sparse: requirements.sparse, neededBytes: ByteRanges.total(needed),
                                            capacityBytes: capacity)
        if exists {
            try prepareExisting(requirements, size: UInt64(st.st_size), needed: needed, safety: safety, into: &preparation, progress: progress,
                                shouldStop: shouldStop)
        } else {
            try create(requirements, needed: needed, into: &preparation, progress: progress, shouldStop: shouldStop)
        }
        let target: BlockTarget
        do {
            target = try BlockTarget(path: path, size: capacity, direct: requirements.direct, writes: requirements.writes, safety: safety,
                                     sparse: requirements.sparse)
        } catch {
            if preparation.createdNow { unlink(path) }
            throw error
        }
        return (target, preparation)
    }

    /// A new file: created, marked, allocated or grown, filled. Removed again if anything fails.
    private static func create(_ requirements: TargetRequirements, needed: [Range<UInt64>], into preparation: inout TargetPreparation,
                               progress: TargetFill.ProgressHandler?, shouldStop: (@Sendable () -> Bool)?) throws {
        let path = requirements.path
        let capacity = requirements.capacity
        let descriptor = try OwnedDescriptor.open(path, flags: O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, operation: "cannot create it")
        let fd = descriptor.rawValue
        var keep = false
        defer { if !keep { unlink(path) } }
        preparation.createdNow = true
        preparation.createdByVqtrace = true
        // Marked first, before anything can fail halfway: a file left behind by an interrupted
        // fill is still vqtrace's, and the next run fills what is missing.
        preparation.marked = TargetProvenance.mark(fd: fd)
        preparation.filesystem = filesystemType(fd: fd)
        if let filesystem = preparation.filesystem, memoryFilesystems.contains(filesystem) { preparation.kind = .tmpfs }
        let allocate = requirements.sparse ? ByteRanges.total(needed) : capacity
        if let (free, reserve) = FreeSpaceRule.shortfall(fd: fd, needed: allocate) {
            throw TargetPreparationError.noSpace(path: path, needed: allocate, free: free, reserve: reserve)
        }
        if requirements.sparse {
            if ftruncate(fd, off_t(capacity)) != 0 {
                throw SystemCallError.last("ftruncate", path: path, operation: "cannot grow it to \(capacity) bytes")
            }
        } else {
            // Allocated up front, so that a full disk fails here and the extents are laid out
            // together; the fill then turns the unwritten extents into data.
            let rc = posix_fallocate(fd, 0, off_t(capacity))
            if rc != 0 { throw SystemCallError(call: "posix_fallocate", returned: rc, path: path, operation: "cannot allocate \(capacity) bytes") }
        }
        try fill(fd: fd, path: path, size: capacity, needed: needed, into: &preparation, progress: progress, shouldStop: shouldStop)
        keep = true
    }

    /// An existing file: mapped, checked against the rules, and filled where allowed.
    private static func prepareExisting(_ requirements: TargetRequirements, size: UInt64, needed: [Range<UInt64>], safety: DeviceSafety?,
                                        into preparation: inout TargetPreparation, progress: TargetFill.ProgressHandler?,
                                        shouldStop: (@Sendable () -> Bool)?) throws {
        let path = requirements.path
        let capacity = requirements.capacity
        let descriptor = try OwnedDescriptor.open(path, flags: O_RDONLY | O_CLOEXEC, operation: "cannot open it")
        let fd = descriptor.rawValue
        let created = TargetProvenance.isMarked(fd: fd)
        preparation.createdByVqtrace = created
        preparation.marked = created
        preparation.filesystem = filesystemType(fd: fd)
        if let filesystem = preparation.filesystem, memoryFilesystems.contains(filesystem) { preparation.kind = .tmpfs }

        // What reads as zeros now: holes and unwritten extents inside the file, and every needed
        // byte past its end (the file must grow).
        let inside = try FileAllocation.scan(fd: fd, path: path, ranges: ByteRanges.clipped(needed, to: size))
        let beyond = size < capacity ? ByteRanges.intersection(needed, [size..<capacity]) : []
        preparation.detection = inside.method
        preparation.unwrittenBytesBefore = inside.unwrittenBytes + ByteRanges.total(beyond)
        let grows = size < capacity
        let fills = preparation.unwrittenBytesBefore > 0

        if !created && (requirements.writes || grows || fills) {
            let allowWrites = safety?.allowWrites ?? false
            if !allowWrites {
                if requirements.writes { throw TargetPreparationError.writesToUserFile(path: path) }
                if grows { throw TargetPreparationError.tooSmall(path: path, size: size, needed: capacity) }
                throw TargetPreparationError.unwritten(path: path, unwrittenBytes: preparation.unwrittenBytesBefore, neededBytes: preparation.neededBytes)
            }
            let (head, tail) = DeviceSafety.headAndTail(fd: fd)
            if let found = DeviceSafety.signature(in: head, tail: tail), !(safety?.acceptSignatures ?? false) {
                throw TargetPreparationError.signature(path: path, found: found)
            }
        }
        guard grows || fills else {
            preparation.unwrittenBytesAfter = 0
            return
        }

        let writableDescriptor = try OwnedDescriptor.open(path, flags: O_RDWR | O_CLOEXEC, operation: "cannot open it for writing, to fill it")
        let writable = writableDescriptor.rawValue
        // New space: the holes that get filled, and the growth (all of it unless sparse).
        let allocate = inside.holeBytes + (grows ? (requirements.sparse ? ByteRanges.total(beyond) : capacity - size) : 0)
        if let (free, reserve) = FreeSpaceRule.shortfall(fd: writable, needed: allocate) {
            throw TargetPreparationError.noSpace(path: path, needed: allocate, free: free, reserve: reserve)
        }
        if grows {
            if requirements.sparse {
                if ftruncate(writable, off_t(capacity)) != 0 {
                    throw SystemCallError.last("ftruncate", path: path, operation: "cannot grow it to \(capacity) bytes")
                }
            } else {
                let rc = posix_fallocate(writable, off_t(size), off_t(capacity - size))
                if rc != 0 { throw SystemCallError(call: "posix_fallocate", returned: rc, path: path, operation: "cannot allocate \(capacity) bytes") }
            }
        }
        try fill(fd: writable, path: path, size: max(size, capacity), needed: needed, into: &preparation, progress: progress, shouldStop: shouldStop)
    }

    /// Maps `needed` again (after any growth), fills what reads as zeros, and checks the result.
    private static func fill(fd: Int32, path: String, size: UInt64, needed: [Range<UInt64>], into preparation: inout TargetPreparation,
                             progress: TargetFill.ProgressHandler?, shouldStop: (@Sendable () -> Bool)?) throws {
        let before = try FileAllocation.scan(fd: fd, path: path, ranges: needed)
        if preparation.createdNow { preparation.unwrittenBytesBefore = before.unwrittenBytes }
        preparation.detection = before.method
        // Where nothing can be detected (no FIEMAP, no SEEK_DATA), a new file is filled whole
        // (it has no data yet); an existing one is left as it is.
        let ranges = before.method == .none && preparation.createdNow ? needed : before.unwritten
        let outcome = try TargetFill.write(ranges, path: path, fileSize: size, progress: progress, shouldStop: shouldStop)
        preparation.filledBytes = outcome.bytes
        preparation.fillSeconds = outcome.seconds
        preparation.unwrittenBytesAfter = try FileAllocation.scan(fd: fd, path: path, ranges: needed).unwrittenBytes
    }

    /// Filesystems that keep files in memory: there is no disk under them.
    static let memoryFilesystems: Set<String> = ["tmpfs", "ramfs", "hugetlbfs"]

    /// The type of the filesystem holding `fd`, from /proc/self/mountinfo (matched by device number).
    static func filesystemType(fd: Int32) -> String? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let major = UInt32((st.st_dev >> 8) & 0xFFF) | UInt32((st.st_dev >> 32) & ~0xFFF)
        let minor = UInt32(st.st_dev & 0xFF) | UInt32((st.st_dev >> 12) & ~0xFF)
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 3, fields[2] == "\(major):\(minor)", let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            return String(fields[dash + 1])
        }
        return nil
    }
}
