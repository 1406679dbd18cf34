#if canImport(Trace)
import Trace
#endif

/// The MSR Cambridge block traces (SNIA IOTTA), CSV without quoting:
/// `Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime`, for example
/// `128166372003061629,hm,1,Read,383369216,32768,118578`.
///
/// Timestamp is a Windows FILETIME (100 ns ticks since 1601), Type `Read` or `Write`, Offset and
/// Size in bytes, ResponseTime in 100 ns ticks (it gives the completion time). The device is
/// `Hostname,DiskNumber`. A first line of column names is skipped.
public struct MSRCambridgeParser: TraceLineParser {
    static let tickNs: UInt64 = 100
    private var fields = LineFields()
    public private(set) var ignoredEvents = 0

    public init() {}

    public mutating func parse(_ line: UnsafeRawBufferPointer, lineNumber: Int, devices: DeviceTable, into events: inout [ImportedEvent]) throws(LineProblem) {
        fields.splitCommas(line, max: 8)
        if fields.count == 1 && fields[0].isEmpty { return }
        if lineNumber == 1 && fields.areColumnNames { return }
        guard fields.count == 7 else { throw LineProblem("expected 7 comma-separated fields (Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime), found \(fields.count)") }
        guard let ticks = decimal(fields[0]), ticks <= UInt64.max / Self.tickNs else { throw LineProblem("Timestamp \"\(text(fields[0]))\" is not a FILETIME (100 ns ticks)") }
        guard decimal(fields[2]) != nil else { throw LineProblem("DiskNumber \"\(text(fields[2]))\" is not a number") }
        let type: TraceRequestType
        if equals(fields[3], "Read") || equals(fields[3], "read") { type = .read }
        else if equals(fields[3], "Write") || equals(fields[3], "write") { type = .write }
        else { throw LineProblem("Type \"\(text(fields[3]))\" is not Read or Write") }
        guard let offset = decimal(fields[4]) else { throw LineProblem("Offset \"\(text(fields[4]))\" is not a number of bytes") }
        guard let size = decimal(fields[5]) else { throw LineProblem("Size \"\(text(fields[5]))\" is not a number of bytes") }
        guard let response = decimal(fields[6]), response <= UInt64.max / Self.tickNs else { throw LineProblem("ResponseTime \"\(text(fields[6]))\" is not a number of 100 ns ticks") }
        let range = try RequestRange.fromBytes(offset: offset, length: size)
        let submit = ticks * Self.tickNs
        let (completion, overflow) = submit.addingReportingOverflow(response * Self.tickNs)
        if overflow { throw LineProblem("Timestamp + ResponseTime overflows") }
        // The device key is "Hostname,DiskNumber": the line's bytes from one field to the other.
        let key = UnsafeRawBufferPointer(start: fields[1].baseAddress, count: fields[1].baseAddress!.distance(to: fields[2].baseAddress! + fields[2].count))
        let device = try devices.index(of: key)
        events.append(ImportedEvent(device: device, type: type, sector: range.sector, length: range.length, timeNs: submit, completionNs: completion))
    }
}
