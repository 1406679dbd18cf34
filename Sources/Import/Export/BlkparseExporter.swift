#if canImport(Trace)
import Trace
#endif

/// Writes a trace as blkparse default text: a `Q` line at each request's submission and, where
/// the trace has completion times, a `C` line at its completion, in time order, so that
/// `vqtrace import --format blkparse` (or a blkparse reader) reads it back.
///
/// Device N is `252,16N` (virtio-blk's usual major, 16 minors per disk); the CPU column is the
/// request's vq, so `--vq-map cpu` restores it; the PID column is 0 and the command `vqtrace`.
/// WRITE_ZEROES and other requests blktrace has no RWBS letter for are left out and counted.
public enum BlkparseExporter {
    public static func export(tracePath: String, out: String, replaceExisting: Bool = false) throws -> ExportResult {
        let reader = try TraceReader(path: tracePath)
        let output = try TextOutput(path: out, replaceExisting: replaceExisting)
        var cursor = reader.cursor()
        let start = reader.totals.firstSubmitNs
        var pending = MinHeap<PendingCompletion>()
        var sequence = [Int](repeating: 0, count: 1024)
        var result = ExportResult()

        func line(_ device: UInt16, _ vq: UInt16, _ ns: UInt64, _ action: String, _ rwbs: String, _ tail: String) -> String {
            let cpu = Int(vq) % sequence.count
            sequence[cpu] += 1
            let s = ns / 1_000_000_000, frac = String(ns % 1_000_000_000)
            return "252,\(Int(device) * 16) \(pad(vq, 3)) \(pad(sequence[cpu], 8)) \(pad(s, 5)).\(String(repeating: "0", count: 9 - frac.count))\(frac)     0  \(action) \(rwbs) \(tail)\n"
        }
        func drain(upTo ns: UInt64) throws {
            while let next = pending.min, next.ns <= ns {
                pending.popMin()
                try output.write(line(next.device, next.vq, next.ns, "C", next.rwbs, next.tail))
            }
        }

        while let r = try cursor.next() {
            let rwbs: String
            switch r.type {
            case .read: rwbs = "R"
            case .write: rwbs = "W"
            case .discard: rwbs = "D"
            case .flush: rwbs = "FN"
            default:
                result.leftOut += 1
                continue
            }
            let submit = r.submitNs - start
            try drain(upTo: submit)
            let range = r.type == .flush ? "" : "\(r.sector) + \(r.length / 512) "
            try output.write(line(r.device, r.vq, submit, "Q", rwbs, range + "[vqtrace]"))
            if let completion = r.completionNs {
                let error = r.status == .ok ? 0 : -5  // EIO
                pending.push(PendingCompletion(ns: completion - start, order: result.written, device: r.device, vq: r.vq, rwbs: rwbs,
                                               tail: (r.type == .flush ? "0 " : range) + "[\(error)]"))
            }
            result.written += 1
        }
        try drain(upTo: .max)
        try output.commit()
        return result
    }

    private struct PendingCompletion: Comparable {
        var ns: UInt64
        var order: Int
        var device: UInt16
        var vq: UInt16
        var rwbs: String
        var tail: String
        static func < (a: Self, b: Self) -> Bool { (a.ns, a.order) < (b.ns, b.order) }
        static func == (a: Self, b: Self) -> Bool { a.ns == b.ns && a.order == b.order }
    }
}

/// Right-aligns a number in a column, as blkparse's printf widths do.
func pad<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}
