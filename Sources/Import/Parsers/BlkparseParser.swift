/// blkparse's default text output:
/// `MAJ,MIN CPU SEQUENCE SECONDS.NANOSECONDS PID ACTION RWBS SECTOR + COUNT [COMM]`, for example
/// `  8,0    3        1     0.000000000   697  Q  WS 3417048 + 8 [kjournald]`.
///
/// The ftrace `blk_classic` layout, which has no sequence number, is read too. The per-CPU and
/// total summaries blkparse prints at the end are skipped; any other line that is not an event is
/// an error. The device is `MAJ,MIN`; the CPU field is what `--vq-map cpu` uses.
public struct BlkparseParser: TraceLineParser {
    private var fields = LineFields()
    private var inSummary = false
    public private(set) var ignoredEvents = 0

    public init() {}

    public mutating func parse(_ line: UnsafeRawBufferPointer, lineNumber: Int, devices: DeviceTable, into events: inout [ImportedEvent]) throws(LineProblem) {
        if inSummary { return }
        fields.splitWhitespace(line, max: 16)
        if fields.isEmpty { return }
        guard BlockTraceEvent.isDevice(fields[0]) else {
            if startsWith(fields[0], "CPU") || equals(fields[0], "Total") {
                inSummary = true  // blkparse's closing statistics
                return
            }
            throw LineProblem("not a blkparse event: expected MAJ,MIN CPU SEQUENCE TIME PID ACTION RWBS…, found \"\(text(fields[0]))\"")
        }
        guard fields.count >= 6 else { throw LineProblem("a blkparse event has at least 6 fields, this line \(fields.count)") }
        guard let cpu = decimal(fields[1]), cpu < UInt64(UInt32.max) else { throw LineProblem("CPU \"\(text(fields[1]))\" is not a number") }
        // With a sequence number (blkparse) the time is the 4th field, without (blk_classic) the 3rd.
        let timeField = fields[2].contains(0x2E) ? 2 : 3
        guard let time = scaledTime(fields[timeField], unitNs: 1_000_000_000) else {
            throw LineProblem("time \"\(text(fields[timeField]))\" is not SECONDS.NANOSECONDS")
        }
        guard fields.count > timeField + 2, let pid = decimal(fields[timeField + 1]) else {
            throw LineProblem("missing PID ACTION RWBS after the time")
        }
        let device = try devices.index(of: fields[0])
        try BlockTraceEvent.parse(fields, from: timeField + 2, device: device, timeNs: time, cpu: UInt32(cpu), pid: UInt32(truncatingIfNeeded: pid),
                                  ignored: &ignoredEvents, into: &events)
    }
}
