#if canImport(Trace)
import Trace
#endif

/// The part blkparse and the ftrace `blk` tracer print alike after the device:
/// `ACTION RWBS [(PAYLOAD)] [SECTOR [+ COUNT]] [COMM or ERROR]`.
///
/// `Q` (queued) events are the submissions and `C` (completed) the completions; the other actions
/// (G, I, D, M, P, U, X, A, m…) are counted and dropped. RWBS is the kernel's `fill_rwbs`: an
/// optional leading `F` for a preflush, then the op (`R`ead, `W`rite, `D`iscard, `F`lush, `N`one),
/// then flags (`F`ua, `A`head, `S`ync, `M`eta). A preflush write becomes a FLUSH and a WRITE, as the
/// guest's virtio-blk driver sends it; a preflush with no data is a FLUSH. Counts are 512-byte
/// sectors.
enum BlockTraceEvent {
    /// Parses `fields[from...]` and appends the events. `ignored` counts the dropped actions.
    @inline(__always)
    static func parse(_ fields: LineFields, from start: Int, device: Int, timeNs: UInt64, cpu: UInt32, pid: UInt32,
                      ignored: inout Int, into events: inout [ImportedEvent]) throws(LineProblem) {
        guard fields.count > start else { throw LineProblem("missing ACTION after the device") }
        let action = fields[start]
        let kind: ImportedEvent.Kind
        if equals(action, "Q") { kind = .submit } else if equals(action, "C") { kind = .complete } else {
            ignored += 1
            return
        }
        guard fields.count > start + 1 else { throw LineProblem("missing RWBS after \(text(action))") }
        let rwbs = fields[start + 1]
        guard let first = rwbs.first else { throw LineProblem("empty RWBS") }
        var preflush = false
        var op = first
        if first == UInt8(ascii: "F"), rwbs.count > 1, isOp(rwbs[1]) {
            preflush = true
            op = rwbs[1]
        }
        guard isOp(op) else { throw LineProblem("RWBS \"\(text(rwbs))\" has no operation (R, W, D, F or N)") }

        // The rest: an optional (payload), then SECTOR [+ COUNT], then [comm] or [error].
        var i = start + 2
        if i < fields.count, fields[i].first == UInt8(ascii: "(") {
            while i < fields.count && fields[i].last != UInt8(ascii: ")") { i += 1 }
            i += 1
        }
        var sector: UInt64 = 0
        var count: UInt64 = 0
        if i < fields.count, fields[i].first != UInt8(ascii: "[") {
            guard let s = decimal(fields[i]) else { throw LineProblem("sector \"\(text(fields[i]))\" is not a number") }
            sector = s
            i += 1
            if i < fields.count, equals(fields[i], "+") {
                guard i + 1 < fields.count, let n = decimal(fields[i + 1]) else { throw LineProblem("missing sector count after \"+\"") }
                count = n
                i += 2
            }
        }
        // Both end in a bracketed field: [COMMAND] (which may hold spaces) or [ERROR].
        guard i < fields.count, fields[i].first == UInt8(ascii: "["), fields[fields.count - 1].last == UInt8(ascii: "]") else {
            throw LineProblem(kind == .complete ? "completion without its [error] field (a truncated line?)" : "missing the [COMMAND] field at the end (a truncated line?)")
        }
        var status = TraceStatus.ok
        if kind == .complete {
            let bracket = fields[i]
            guard bracket.count >= 3, bracket.first == UInt8(ascii: "["), bracket.last == UInt8(ascii: "]"),
                  let error = signedDecimal(UnsafeRawBufferPointer(rebasing: bracket[1..<(bracket.count - 1)])) else {
                throw LineProblem("completion error \"\(text(bracket))\" is not [NUMBER]")
            }
            if error != 0 { status = .ioError }
        }

        let type: TraceRequestType
        switch op {
        case UInt8(ascii: "R"): type = count > 0 ? .read : .flush
        case UInt8(ascii: "W"): type = count > 0 ? .write : .flush
        case UInt8(ascii: "D"): type = .discard
        case UInt8(ascii: "F"): type = .flush
        default: type = preflush ? .flush : TraceRequestType(rawValue: UInt32.max)  // N: no request
        }
        if type.rawValue == UInt32.max || (type == .flush && !preflush && op != UInt8(ascii: "F")) {
            // R or W with no data and no preflush, or N: nothing a virtio-blk device would receive.
            ignored += 1
            return
        }
        var range: (sector: UInt64, length: UInt32) = (0, 0)
        if type != .flush {
            range = try RequestRange.fromSectors(sector: sector, count: count)
        }
        if preflush && type != .flush {
            events.append(ImportedEvent(kind: kind, device: device, type: .flush, sector: 0, length: 0, timeNs: timeNs, status: status, cpu: cpu, pid: pid))
        }
        events.append(ImportedEvent(kind: kind, device: device, type: type, sector: range.sector, length: range.length, timeNs: timeNs, status: status, cpu: cpu, pid: pid))
    }

    @inline(__always) private static func isOp(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "R") || b == UInt8(ascii: "W") || b == UInt8(ascii: "D") || b == UInt8(ascii: "F") || b == UInt8(ascii: "N")
    }

    /// Whether the bytes are a `MAJOR,MINOR` device.
    @inline(__always) static func isDevice(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let comma = bytes.firstIndex(of: 0x2C), comma > 0, comma < bytes.count - 1 else { return false }
        return decimal(UnsafeRawBufferPointer(rebasing: bytes[0..<comma])) != nil
            && decimal(UnsafeRawBufferPointer(rebasing: bytes[(comma + 1)...])) != nil
    }
}
