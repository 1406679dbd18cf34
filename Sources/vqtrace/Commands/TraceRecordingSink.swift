import Engine
import Trace

extension RecordingSink {
    /// A sink that writes what the device saw into `writer`, with times counted from the first
    /// request the device popped.
    static func writing(to writer: TraceWriter) -> RecordingSink {
        var epoch: UInt64 = 0
        return RecordingSink { r in
            if epoch == 0 { epoch = r.submitNs }
            try writer.append(TraceRecord(device: r.device, vq: r.vq, type: TraceRequestType(rawValue: r.type), sector: r.sector, length: r.length,
                                          submitNs: r.submitNs - epoch, completionNs: r.completionNs - epoch, status: TraceStatus(rawValue: r.status)))
        }
    }
}
