/// A parser of one text trace format, one line at a time.
///
/// A parser turns a line into zero, one or two events (a blkparse preflush write is a FLUSH and a
/// WRITE) and appends them to `events`. Lines without a request (headers, comments, fio's file
/// management, other blktrace actions) append nothing. A malformed line throws a `LineProblem`
/// that says what is wrong; the importer adds the file and line. A parser validates the whole line
/// before appending, so a bad line adds nothing.
public protocol TraceLineParser {
    mutating func parse(_ line: UnsafeRawBufferPointer, lineNumber: Int, devices: DeviceTable, into events: inout [ImportedEvent]) throws(LineProblem)
    /// Events the format has but a trace does not keep (blktrace's G, I, D, M… actions; `N` ops).
    var ignoredEvents: Int { get }
}

/// Checks shared by the parsers: an address range a virtio-blk request can carry.
enum RequestRange {
    /// A byte offset and length into a sector and a length, or the problem.
    @inline(__always) static func fromBytes(offset: UInt64, length: UInt64) throws(LineProblem) -> (sector: UInt64, length: UInt32) {
        guard offset % 512 == 0, length % 512 == 0 else {
            throw LineProblem("offset \(offset) and length \(length) must be multiples of 512 bytes")
        }
        guard length > 0 else { throw LineProblem("length is 0") }
        guard length <= UInt64(UInt32.max) / 512 * 512 else { throw LineProblem("length \(length) is over 4 GiB") }
        return (offset / 512, UInt32(length))
    }

    /// A sector and a count of sectors, or the problem.
    @inline(__always) static func fromSectors(sector: UInt64, count: UInt64) throws(LineProblem) -> (sector: UInt64, length: UInt32) {
        guard count > 0 else { throw LineProblem("size is 0 sectors") }
        guard count <= UInt64(UInt32.max) / 512 else { throw LineProblem("size \(count) sectors is over 2 GiB") }
        guard sector <= UInt64.max / 512 - count else { throw LineProblem("sector \(sector) is past any disk") }
        return (sector, UInt32(count * 512))
    }
}
