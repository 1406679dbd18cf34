#if canImport(Trace)
import Trace
#endif

/// The Alibaba cloud block traces (2020), CSV without quoting:
/// `device_id,opcode,offset,length,timestamp`, for example `419,W,8628224,4096,1577808000000015`.
///
/// opcode `R` or `W`, offset and length in bytes, timestamp in µs (`--time-unit` for other
/// dialects). Each device_id is a device. A first line of column names is skipped.
public struct AlibabaBlockParser: TraceLineParser {
    private let unitNs: UInt64
    private var fields = LineFields()
    public private(set) var ignoredEvents = 0

    public init(timeUnitNs: UInt64 = 1000) { unitNs = timeUnitNs }

    public mutating func parse(_ line: UnsafeRawBufferPointer, lineNumber: Int, devices: DeviceTable, into events: inout [ImportedEvent]) throws(LineProblem) {
        fields.splitCommas(line, max: 6)
        if fields.count == 1 && fields[0].isEmpty { return }
        if lineNumber == 1 && fields.areColumnNames { return }
        guard fields.count == 5 else { throw LineProblem("expected 5 comma-separated fields (device_id,opcode,offset,length,timestamp), found \(fields.count)") }
        guard decimal(fields[0]) != nil else { throw LineProblem("device_id \"\(text(fields[0]))\" is not a number") }
        let type: TraceRequestType
        if equals(fields[1], "R") || equals(fields[1], "r") { type = .read }
        else if equals(fields[1], "W") || equals(fields[1], "w") { type = .write }
        else { throw LineProblem("opcode \"\(text(fields[1]))\" is not R or W") }
        guard let offset = decimal(fields[2]) else { throw LineProblem("offset \"\(text(fields[2]))\" is not a number of bytes") }
        guard let length = decimal(fields[3]) else { throw LineProblem("length \"\(text(fields[3]))\" is not a number of bytes") }
        guard let time = scaledTime(fields[4], unitNs: unitNs) else { throw LineProblem("timestamp \"\(text(fields[4]))\" is not a time") }
        let range = try RequestRange.fromBytes(offset: offset, length: length)
        let device = try devices.index(of: fields[0])
        events.append(ImportedEvent(device: device, type: type, sector: range.sector, length: range.length, timeNs: time))
    }
}
