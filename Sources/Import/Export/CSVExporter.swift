#if canImport(Trace)
import Trace
#endif

/// Writes a trace as CSV for spreadsheets, pandas or R: one row per request with the columns
/// `device,vq,type,sector,length,submit_ns,completion_ns,status`. `device` is the device's name
/// in the trace (vda…), `type` the virtio-blk request type (read, write, flush, discard,
/// write-zeroes…), `length` in bytes, times in ns since the trace's first request,
/// `completion_ns` empty where the trace has none, `status` ok, ioerr or unsupp.
public enum CSVExporter {
    public static let header = "device,vq,type,sector,length,submit_ns,completion_ns,status\n"

    public static func export(tracePath: String, out: String, replaceExisting: Bool = false) throws -> ExportResult {
        let reader = try TraceReader(path: tracePath)
        let names = reader.metadata.devices.map(\.name)
        let output = try TextOutput(path: out, replaceExisting: replaceExisting)
        try output.write(header)
        var cursor = reader.cursor()
        let start = reader.totals.firstSubmitNs
        var result = ExportResult()
        while let r = try cursor.next() {
            let completion = r.completionNs.map { String($0 - start) } ?? ""
            let status: String
            switch r.status {
            case .ok: status = "ok"
            case .ioError: status = "ioerr"
            case .unsupported: status = "unsupp"
            default: status = "status-\(r.status.rawValue)"
            }
            try output.write("\(names[Int(r.device)]),\(r.vq),\(r.type),\(r.sector),\(r.length),\(r.submitNs - start),\(completion),\(status)\n")
            result.written += 1
        }
        try output.commit()
        return result
    }
}
