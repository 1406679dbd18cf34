#if canImport(Trace)
import Trace
#endif

/// The Tencent CBS block traces (2018), CSV without quoting:
/// `Timestamp,Offset,Size,IOType,VolumeID`, for example `1538323200,12845056,8,1,1283`.
///
/// Timestamp in seconds (`--time-unit` for other dialects), Offset and Size in 512-byte sectors,
/// IOType 0 = read, 1 = write. Each VolumeID is a device. A first line of column names is skipped.
public struct TencentCBSParser: TraceLineParser {
    private let unitNs: UInt64
    private var fields = LineFields()
    public private(set) var ignoredEvents = 0

    public init(timeUnitNs: UInt64 = 1_000_000_000) { unitNs = timeUnitNs }

    public mutating func parse(_ line: UnsafeRawBufferPointer, lineNumber: Int, devices: DeviceTable, into events: inout [ImportedEvent]) throws(LineProblem) {
        fields.splitCommas(line, max: 6)
        if fields.count == 1 && fields[0].isEmpty { return }
        if lineNumber == 1 && fields.areColumnNames { return }
        guard fields.count == 5 else { throw LineProblem("expected 5 comma-separated fields (Timestamp,Offset,Size,IOType,VolumeID), found \(fields.count)") }
        guard let time = scaledTime(fields[0], unitNs: unitNs) else { throw LineProblem("Timestamp \"\(text(fields[0]))\" is not a time") }
        guard let sector = decimal(fields[1]) else { throw LineProblem("Offset \"\(text(fields[1]))\" is not a number of sectors") }
        guard let size = decimal(fields[2]) else { throw LineProblem("Size \"\(text(fields[2]))\" is not a number of sectors") }
        let type: TraceRequestType
        if equals(fields[3], "0") { type = .read } else if equals(fields[3], "1") { type = .write } else {
            throw LineProblem("IOType \"\(text(fields[3]))\" is not 0 (read) or 1 (write)")
        }
        guard decimal(fields[4]) != nil else { throw LineProblem("VolumeID \"\(text(fields[4]))\" is not a number") }
        let range = try RequestRange.fromSectors(sector: sector, count: size)
        let device = try devices.index(of: fields[4])
        events.append(ImportedEvent(device: device, type: type, sector: range.sector, length: range.length, timeNs: time))
    }
}
