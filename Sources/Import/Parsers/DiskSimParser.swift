#if canImport(Trace)
import Trace
#endif

/// DiskSim's ASCII trace format: `ARRIVAL DEVICE BLOCK SIZE FLAGS`, white-space separated, for
/// example `12.345 0 2048 16 1`.
///
/// ARRIVAL in ms (`--time-unit` for dialects that use µs or ns), BLOCK and SIZE in 512-byte
/// sectors, FLAGS a number whose bit 0 is set for a read. Each DEVICE number is a device.
public struct DiskSimParser: TraceLineParser {
    private let unitNs: UInt64
    private var fields = LineFields()
    public private(set) var ignoredEvents = 0

    public init(timeUnitNs: UInt64 = 1_000_000) { unitNs = timeUnitNs }

    public mutating func parse(_ line: UnsafeRawBufferPointer, lineNumber: Int, devices: DeviceTable, into events: inout [ImportedEvent]) throws(LineProblem) {
        fields.splitWhitespace(line, max: 7)
        if fields.isEmpty { return }
        guard fields.count == 5 else { throw LineProblem("expected 5 fields (ARRIVAL DEVICE BLOCK SIZE FLAGS), found \(fields.count)") }
        guard let time = scaledTime(fields[0], unitNs: unitNs) else { throw LineProblem("ARRIVAL \"\(text(fields[0]))\" is not a time") }
        guard decimal(fields[1]) != nil else { throw LineProblem("DEVICE \"\(text(fields[1]))\" is not a number") }
        guard let block = decimal(fields[2]) else { throw LineProblem("BLOCK \"\(text(fields[2]))\" is not a number") }
        guard let size = decimal(fields[3]) else { throw LineProblem("SIZE \"\(text(fields[3]))\" is not a number of sectors") }
        guard let flags = decimal(fields[4]) else { throw LineProblem("FLAGS \"\(text(fields[4]))\" is not a number") }
        let range = try RequestRange.fromSectors(sector: block, count: size)
        let device = try devices.index(of: fields[1])
        events.append(ImportedEvent(device: device, type: flags & 1 == 1 ? .read : .write, sector: range.sector, length: range.length, timeNs: time))
    }
}
