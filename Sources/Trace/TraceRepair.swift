/// Copies the readable records of a damaged or unfinished trace into a new, finished one.
public enum TraceRepair {
    /// What a repair kept and lost.
    public struct Report: Sendable {
        public var recordsKept: UInt64 = 0
        public var chunksKept = 0
        /// Chunks that could not be read, left out.
        public var damaged: [DamagedChunk] = []
        /// Why the input had no usable trailer (it was unfinished), if so.
        public var recovery: String?
        public var recordsLost: UInt64 { damaged.reduce(0) { $0 + $1.records } }

        /// `traces repair`: what was kept, what the input lacked, each damaged chunk.
        public func lines(input: String, out: String) -> [String] {
            ["repaired \(input) into \(out): \(recordsKept) records in \(chunksKept) chunks kept"
                + (damaged.isEmpty ? "" : "; \(DamagedChunk.summary(damaged, of: recordsKept + recordsLost) ?? "")")]
                + (recovery.map { ["  the input was unfinished: \($0)"] } ?? []) + damaged.map { "  \($0)" }
        }
    }

    /// Reads `input` chunk by chunk (a damaged chunk costs only itself) and writes its records,
    /// in their order, with the input's metadata, into `output`. The input is only read.
    public static func repair(from input: String, to output: String, options: TraceWriterOptions = .init()) throws -> Report {
        let reader = try TraceReader(path: input)
        let writer = try TraceWriter(path: output, metadata: reader.metadata, options: options)
        var report = Report()
        report.recovery = reader.recovery
        var cursor = reader.cursor(skippingDamagedChunks: true)
        while let record = try cursor.next() {
            try writer.append(record)
        }
        report.damaged = cursor.damaged
        report.chunksKept = reader.chunks.count - cursor.damaged.count
        report.recordsKept = try writer.finish().records
        return report
    }
}
