import Engine
import Trace

/// Recording a run into a trace: the engine's taps say what the device saw (pop and completion
/// times, per vq), the sink writes it as .vqt records (`record`, `replay --record`, `serve --record`).
extension TraceMetadata {
    /// The metadata of a recording of `replayed` replayed under `layout` as `copies` VMs: the
    /// devices once per copy, the source named "… replayed" with the replay's parameters.
    public static func recording(of replayed: TraceMetadata, copies: Int, layout: String, backend: String, target: String?) -> TraceMetadata {
        TraceMetadata(
            devices: Array(repeating: replayed.devices, count: copies).flatMap { $0 },
            source: .init(kind: replayed.source.kind, name: replayed.source.name + " replayed",
                          parameters: replayed.source.parameters.merging(["layout": layout, "backend": backend, "target": target ?? "null"]) { $1 }))
    }
}

extension RecordingSink {
    /// A sink that writes what the device saw into `writer`, with times counted from the first
    /// request the device popped.
    public static func writing(to writer: TraceWriter) -> RecordingSink {
        var epoch: UInt64 = 0
        return RecordingSink { r in
            if epoch == 0 { epoch = r.submitNs }
            try writer.append(TraceRecord(device: r.device, vq: r.vq, type: TraceRequestType(rawValue: r.type), sector: r.sector, length: r.length,
                                          submitNs: r.submitNs - epoch, completionNs: r.completionNs - epoch, status: TraceStatus(rawValue: r.status)))
        }
    }
}
