#if canImport(Trace)
import Trace
#endif

/// fio's iolog, versions 2 and 3.
///
/// v3 lines: `TIMESTAMP FILE ACTION [OFFSET LENGTH]`, µs since the run began; v2 lines:
/// `FILE ACTION [OFFSET LENGTH]`, where a `wait` action carries the µs to wait before the next
/// request. Actions: read, write, trim (→ DISCARD), sync and datasync (→ FLUSH); add, open and
/// close manage files (an added file is a device even before its first request).
public struct FioIologParser: TraceLineParser {
    private var version = 0
    private var clockUs: UInt64 = 0
    private var fields = LineFields()
    public private(set) var ignoredEvents = 0

    public init() {}

    public mutating func parse(_ line: UnsafeRawBufferPointer, lineNumber: Int, devices: DeviceTable, into events: inout [ImportedEvent]) throws(LineProblem) {
        if version == 0 {
            if startsWith(line, "fio version 2 iolog") { version = 2 } else if startsWith(line, "fio version 3 iolog") { version = 3 } else {
                throw LineProblem("not a fio iolog: the first line must be \"fio version 2 iolog\" or \"fio version 3 iolog\"")
            }
            return
        }
        fields.splitWhitespace(line, max: 6)
        if fields.isEmpty { return }
        let base = version == 3 ? 1 : 0
        var us = clockUs
        if version == 3 {
            guard let t = decimal(fields[0]) else { throw LineProblem("timestamp \"\(text(fields[0]))\" is not a number of µs") }
            us = t
        }
        guard fields.count >= base + 2 else { throw LineProblem("expected \(version == 3 ? "TIMESTAMP " : "")FILE ACTION, found \(fields.count) fields") }
        let action = fields[base + 1]
        if equals(action, "wait") {
            guard version == 2, fields.count >= 3, let wait = decimal(fields[2]) else {
                throw LineProblem(version == 2 ? "wait needs a number of µs" : "wait is a v2 action; v3 lines carry timestamps")
            }
            clockUs &+= wait
            return
        }
        if equals(action, "add") || equals(action, "open") || equals(action, "close") {
            _ = try devices.index(of: fields[base])
            return
        }
        let type: TraceRequestType
        if equals(action, "read") { type = .read }
        else if equals(action, "write") { type = .write }
        else if equals(action, "trim") { type = .discard }
        else if equals(action, "sync") || equals(action, "datasync") { type = .flush }
        else { throw LineProblem("unknown action \"\(text(action))\" (read, write, trim, sync, datasync, add, open, close\(version == 2 ? ", wait" : ""))") }
        guard us <= UInt64.max / 1000 else { throw LineProblem("timestamp \(us) µs is too large") }
        var range: (sector: UInt64, length: UInt32) = (0, 0)
        if type != .flush {
            guard fields.count >= base + 4, let offset = decimal(fields[base + 2]), let length = decimal(fields[base + 3]) else {
                throw LineProblem("\(text(action)) needs OFFSET LENGTH")
            }
            range = try RequestRange.fromBytes(offset: offset, length: length)
        }
        let device = try devices.index(of: fields[base])
        events.append(ImportedEvent(device: device, type: type, sector: range.sector, length: range.length, timeNs: us * 1000))
    }
}

@inline(__always) func startsWith(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
    bytes.count >= prefix.utf8CodeUnitCount && equals(UnsafeRawBufferPointer(rebasing: bytes[0..<prefix.utf8CodeUnitCount]), prefix)
}
