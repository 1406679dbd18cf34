import Foundation
import Trace

/// Writes a trace as a fio v3 iolog: one file per device (`vqtrace-DEVICE.bin` unless named),
/// µs timestamps, so that `fio --read_iolog` replays it.
public enum FioIologExporter {
    public static func export(tracePath: String, out: String, fileNames: [String]? = nil) throws -> UInt64 {
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
        guard FileManager.default.createFile(atPath: out, contents: nil), let handle = FileHandle(forWritingAtPath: out) else {
            throw ImportError(path: out, line: 0, problem: "cannot create")
        }
        defer { try? handle.close() }
        var text = "fio version 3 iolog\n" + names.map { "0 \($0) add\n0 \($0) open\n" }.joined()
        var cursor = reader.cursor()
        let start = reader.totals.firstSubmitNs
        var written: UInt64 = 0
        var last: UInt64 = 0
        while let r = try cursor.next() {
            let us = (r.submitNs - start) / 1000
            last = us
            let name = names[Int(r.device)]
            switch r.type {
            case .read: text += "\(us) \(name) read \(r.sector * 512) \(r.length)\n"
            case .write: text += "\(us) \(name) write \(r.sector * 512) \(r.length)\n"
            case .discard: text += "\(us) \(name) trim \(r.sector * 512) \(r.length)\n"
            case .flush: text += "\(us) \(name) sync 0 0\n"
            default: continue
            }
            written += 1
            if text.utf8.count > 1 << 20 {
                handle.write(Data(text.utf8))
                text.removeAll(keepingCapacity: true)
            }
        }
        text += names.map { "\(last) \($0) close\n" }.joined()
        handle.write(Data(text.utf8))
        return written
    }
}
