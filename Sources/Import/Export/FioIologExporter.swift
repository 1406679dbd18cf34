#if canImport(Trace)
import Trace
#endif

/// Writes a trace as a fio v3 iolog: one file per device (`vqtrace-DEVICE.bin` unless named),
/// µs timestamps, so that `fio --read_iolog` replays it. WRITE_ZEROES and other requests fio has
/// no action for are left out and counted.
public enum FioIologExporter {
    public static func export(tracePath: String, out: String, fileNames: [String]? = nil, replaceExisting: Bool = false) throws -> ExportResult {
        let reader = try TraceReader(path: tracePath)
        let names = fileNames ?? reader.metadata.devices.map { "vqtrace-\($0.name).bin" }
        // Checked before the output exists: a name per device (the records index them), each one
        // iolog field (fio splits lines at white space).
        guard names.count == reader.metadata.devices.count else {
            throw ImportError(path: tracePath, line: 0, problem: "the trace has \(reader.metadata.devices.count) device(s), so it needs as many fio file names; \(names.count) given")
        }
        if let bad = names.first(where: { $0.isEmpty || $0.contains(where: \.isWhitespace) }) {
            throw ImportError(path: tracePath, line: 0, problem: "fio file name \"\(bad)\" is empty or holds white space, which an iolog line cannot carry")
        }
        let output = try TextOutput(path: out, replaceExisting: replaceExisting)
        try output.write("fio version 3 iolog\n" + names.map { "0 \($0) add\n0 \($0) open\n" }.joined())
        var cursor = reader.cursor()
        let start = reader.totals.firstSubmitNs
        var result = ExportResult()
        var last: UInt64 = 0
        while let r = try cursor.next() {
            let us = (r.submitNs - start) / 1000
            let name = names[Int(r.device)]
            let line: String
            switch r.type {
            case .read: line = "\(us) \(name) read \(r.sector * 512) \(r.length)\n"
            case .write: line = "\(us) \(name) write \(r.sector * 512) \(r.length)\n"
            case .discard: line = "\(us) \(name) trim \(r.sector * 512) \(r.length)\n"
            case .flush: line = "\(us) \(name) sync 0 0\n"
            default:
                result.leftOut += 1
                continue
            }
            last = us
            try output.write(line)
            result.written += 1
        }
        try output.write(names.map { "\(last) \($0) close\n" }.joined())
        try output.commit()
        return result
    }
}

/// What an export wrote.
public struct ExportResult: Sendable, Equatable {
    /// Requests written.
    public var written = 0
    /// Requests the format cannot express (WRITE_ZEROES in a fio iolog, say), left out.
    public var leftOut = 0
    public init() {}
}
