/// The ftrace `blk` tracer's text (`echo blk > /sys/kernel/tracing/current_tracer`, then `trace`
/// or `trace_pipe`):
/// `TASK-PID [CPU] FLAGS SECONDS.MICROS: MAJ,MIN ACTION RWBS SECTOR + COUNT [COMM]`, for example
/// `              dd-3413    [001] d..2.  1238.441467:   8,0    Q   R 1024 + 8 [dd]`.
///
/// Comment lines (`#`) are skipped. Task names may hold spaces, so the line is read from its
/// `[CPU]`. The flags column is optional (older kernels and some options omit it); a cgroup id
/// column after the device (`blk_cgroup` option) is skipped. A `[LOST N EVENTS]` line is an error:
/// the trace is incomplete there (`--skip-bad-lines` goes past it).
public struct FtraceBlkParser: TraceLineParser {
    private var fields = LineFields()
    public private(set) var ignoredEvents = 0

    public init() {}

    public mutating func parse(_ line: UnsafeRawBufferPointer, lineNumber: Int, devices: DeviceTable, into events: inout [ImportedEvent]) throws(LineProblem) {
        var first = 0
        while first < line.count && (line[first] == 0x20 || line[first] == 0x09) { first += 1 }
        if first == line.count || line[first] == UInt8(ascii: "#") { return }
        if let lost = line.firstRange(of: "[LOST") {
            throw LineProblem("ftrace lost events here (\(text(UnsafeRawBufferPointer(rebasing: line[lost.lowerBound...]))): the trace is incomplete")
        }
        // The CPU column: the first "[digits]".
        var open = first
        var cpu: UInt64?
        var close = 0
        while open < line.count {
            if line[open] == UInt8(ascii: "["), let end = line[(open + 1)...].firstIndex(of: UInt8(ascii: "]")),
               let value = decimal(UnsafeRawBufferPointer(rebasing: line[(open + 1)..<end])) {
                cpu = value
                close = end
                break
            }
            open += 1
        }
        guard let cpu, cpu < UInt64(UInt32.max) else {
            throw LineProblem("not an ftrace blk line: expected TASK-PID [CPU] FLAGS TIMESTAMP: MAJ,MIN ACTION RWBS…")
        }
        // TASK-PID: the PID is after the last "-" before the CPU column.
        var pid: UInt64 = 0
        var taskEnd = open
        while taskEnd > first && (line[taskEnd - 1] == 0x20 || line[taskEnd - 1] == 0x09) { taskEnd -= 1 }
        if let dash = line[first..<taskEnd].lastIndex(of: UInt8(ascii: "-")) {
            pid = decimal(UnsafeRawBufferPointer(rebasing: line[(dash + 1)..<taskEnd])) ?? 0
        }
        fields.splitWhitespace(UnsafeRawBufferPointer(rebasing: line[(close + 1)...]), max: 16)
        // [FLAGS] TIMESTAMP:
        var i = 0
        if i < fields.count, fields[i].last != UInt8(ascii: ":") { i += 1 }
        guard i < fields.count, fields[i].count > 1, fields[i].last == UInt8(ascii: ":"),
              let time = scaledTime(UnsafeRawBufferPointer(rebasing: fields[i].dropLast()), unitNs: 1_000_000_000) else {
            throw LineProblem("missing the \"SECONDS.MICROS:\" timestamp after the CPU column")
        }
        i += 1
        guard i < fields.count, BlockTraceEvent.isDevice(fields[i]) else {
            throw LineProblem("expected MAJ,MIN after the timestamp (is the blk tracer on?)")
        }
        let device = try devices.index(of: fields[i])
        i += 1
        if i < fields.count, fields[i].contains(0x2C) { i += 1 }  // cgroup id "LOW32,HIGH32"
        try BlockTraceEvent.parse(fields, from: i, device: device, timeNs: time, cpu: UInt32(cpu), pid: UInt32(truncatingIfNeeded: pid),
                                  ignored: &ignoredEvents, into: &events)
    }
}

extension UnsafeRawBufferPointer {
    /// The range of the first occurrence of an ASCII needle.
    func firstRange(of needle: StaticString) -> Range<Int>? {
        let n = needle.utf8CodeUnitCount
        guard n > 0, count >= n else { return nil }
        for i in 0...(count - n) where self[i] == needle.utf8Start[0] {
            if equals(UnsafeRawBufferPointer(rebasing: self[i..<(i + n)]), needle) { return i..<(i + n) }
        }
        return nil
    }
}
