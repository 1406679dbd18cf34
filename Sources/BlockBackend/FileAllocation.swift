import CLinuxShim
#if canImport(Glibc)
import Glibc
import SystemSupport
#endif

/// Which parts of a file hold data on the disk, and which read as zeros without any disk I/O:
/// holes (never allocated: gaps between extents and the space after the last one) and
/// unwritten extents (allocated by fallocate, but flagged so that reads return zeros). A run
/// that reads either measures the kernel's zero-fill, not the disk.
///
/// FIEMAP (FS_IOC_FIEMAP) tells both apart; where a filesystem has no FIEMAP (tmpfs), lseek's
/// SEEK_DATA/SEEK_HOLE still finds the holes (such filesystems have no unwritten extents); where
/// neither works the whole file counts as data.
public struct FileAllocation: Sendable, Equatable {
    /// How the map was made.
    public enum Method: String, Sendable {
        case fiemap
        case seekData = "seek-data"
        /// Neither FIEMAP nor SEEK_DATA: everything counts as data.
        case none
    }

    /// Holes in the scanned ranges (reading them needs no disk, and filling them allocates space).
    public var holes: [Range<UInt64>]
    /// Unwritten extents in the scanned ranges (already allocated; filling them allocates nothing).
    public var unwrittenExtents: [Range<UInt64>]
    public var method: Method

    /// Everything that reads as zeros without disk I/O, sorted and merged.
    public var unwritten: [Range<UInt64>] { ByteRanges.normalized(holes + unwrittenExtents) }
    public var unwrittenBytes: UInt64 { ByteRanges.total(holes) + ByteRanges.total(unwrittenExtents) }
    public var holeBytes: UInt64 { ByteRanges.total(holes) }

    /// Maps `ranges` (any order; empty ranges ignored) of the open file `fd`. `path` only names
    /// the file in errors.
    public static func scan(fd: Int32, path: String, ranges: [Range<UInt64>]) throws -> FileAllocation {
        let wanted = ByteRanges.normalized(ranges)
        guard let first = wanted.first, let last = wanted.last else { return FileAllocation(holes: [], unwrittenExtents: [], method: .fiemap) }
        let span = first.lowerBound..<last.upperBound
        // One pass over the span, then cut down to the wanted ranges: a sparse target's ranges
        // can number thousands, and one FIEMAP walk is far cheaper than one per range.
        let found: FileAllocation
        if let map = try fiemap(fd: fd, path: path, span: span) {
            found = map
        } else if let map = try seekData(fd: fd, path: path, span: span) {
            found = map
        } else {
            return FileAllocation(holes: [], unwrittenExtents: [], method: .none)
        }
        return FileAllocation(holes: ByteRanges.intersection(found.holes, wanted),
                              unwrittenExtents: ByteRanges.intersection(found.unwrittenExtents, wanted), method: found.method)
    }

    /// nil when the filesystem has no FIEMAP.
    private static func fiemap(fd: Int32, path: String, span: Range<UInt64>) throws -> FileAllocation? {
        let batch = 512
        var extents = [linux_extent](repeating: linux_extent(), count: batch)
        var holes: [Range<UInt64>] = []
        var unwritten: [Range<UInt64>] = []
        var cursor = span.lowerBound
        var finished = false
        while !finished && cursor < span.upperBound {
            let n = extents.withUnsafeMutableBufferPointer { linux_fiemap(fd, cursor, span.upperBound - cursor, $0.baseAddress, UInt32(batch)) }
            if n < 0 {
                let code = errno
                if code == EOPNOTSUPP || code == ENOTTY || code == EINVAL { return nil }
                throw SystemCallError(call: "ioctl FS_IOC_FIEMAP", returned: code, path: path, operation: "mapping the file's extents")
            }
            if n == 0 { break }
            for e in extents[0..<Int(n)] {
                let start = max(e.logical, cursor)
                let end = min(e.logical + e.length, span.upperBound)
                if e.flags & linux_FIEMAP_EXTENT_LAST != 0 { finished = true }
                guard start < end else { continue }
                if start > cursor { holes.append(cursor..<start) }
                if e.flags & linux_FIEMAP_EXTENT_UNWRITTEN != 0 { unwritten.append(start..<end) }
                cursor = end
            }
            if Int(n) < batch { finished = true }
        }
        // After the last extent (or with none at all) the rest of the span is a hole.
        if cursor < span.upperBound { holes.append(cursor..<span.upperBound) }
        return FileAllocation(holes: ByteRanges.normalized(holes), unwrittenExtents: ByteRanges.normalized(unwritten), method: .fiemap)
    }

    /// nil when lseek knows neither SEEK_DATA nor SEEK_HOLE here.
    private static func seekData(fd: Int32, path: String, span: Range<UInt64>) throws -> FileAllocation? {
        var holes: [Range<UInt64>] = []
        var position = span.lowerBound
        while position < span.upperBound {
            let data = linux_seek_data(fd, Int64(position))
            if data < 0 {
                let code = errno
                if code == ENXIO {  // no data from here to the end of the file
                    holes.append(position..<span.upperBound)
                    break
                }
                if code == EINVAL && holes.isEmpty && position == span.lowerBound { return nil }
                throw SystemCallError(call: "lseek SEEK_DATA", returned: code, path: path, operation: "finding the file's data")
            }
            let dataStart = UInt64(data)
            if dataStart > position { holes.append(position..<min(dataStart, span.upperBound)) }
            if dataStart >= span.upperBound { break }
            let hole = linux_seek_hole(fd, data)
            if hole < 0 { throw SystemCallError.last("lseek SEEK_HOLE", path: path, operation: "finding the file's holes") }
            position = UInt64(hole)
        }
        return FileAllocation(holes: ByteRanges.normalized(holes), unwrittenExtents: [], method: .seekData)
    }
}
