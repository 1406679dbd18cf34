import Foundation

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
        /// What was wrong with the input's header, when it was rebuilt from other metadata.
        public var headerRebuilt: String?
        public var recordsLost: UInt64 { damaged.reduce(0) { $0 + $1.records } }

        /// `traces repair`: what was kept, what the input lacked, each damaged chunk.
        public func lines(input: String, out: String) -> [String] {
            ["repaired \(input) into \(out): \(recordsKept) records in \(chunksKept) chunks kept"
                + (damaged.isEmpty ? "" : "; \(DamagedChunk.summary(damaged, of: recordsKept + recordsLost) ?? "")")]
                + (headerRebuilt.map { ["  the header was damaged (\($0)); rebuilt from the catalog's metadata"] } ?? [])
                + (recovery.map { ["  the input was unfinished: \($0)"] } ?? []) + damaged.map { "  \($0)" }
        }
    }

    /// Reads `input` chunk by chunk (a damaged chunk costs only itself) and writes its records,
    /// in their order, with the input's metadata, into `output`. The input is only read.
    ///
    /// A damaged file header (its checksum, magic or lengths) hides the metadata every record
    /// needs; with `metadata` (the catalog's copy of it) the header is rebuilt: the chunks from
    /// the first valid chunk header on are read behind a new header, and their records written
    /// as above. Without it, the header's error is thrown as is.
    public static func repair(from input: String, to output: String, options: TraceWriterOptions = .init(),
                              metadata: TraceMetadata? = nil) throws -> Report {
        let reader: TraceReader
        do { reader = try TraceReader(path: input) } catch let error as TraceFileError where error.part == .header {
            guard let metadata else {
                throw TraceFileError(path: error.path, part: .header, offset: error.offset,
                                     problem: error.problem + "; the header can be rebuilt only from a catalog row of this trace (its metadata)")
            }
            return try rebuildingHeader(of: input, to: output, options: options, metadata: metadata, problem: error.problem)
        }
        return try repair(reader, to: output, options: options)
    }

    /// `input`'s chunks behind a header made from `metadata`, in a scratch file beside `output`
    /// (removed afterwards), then repaired into `output`.
    static func rebuildingHeader(of input: String, to output: String, options: TraceWriterOptions, metadata: TraceMetadata,
                                 problem: String) throws -> Report {
        guard let handle = FileHandle(forReadingAtPath: input) else {
            throw TraceFileError(path: input, part: .file, offset: 0, problem: "cannot be opened for reading")
        }
        defer { try? handle.close() }
        // The first chunk starts where the header ends, at most this far in.
        let head = [UInt8](try handle.read(upToCount: TraceFormat.headerFixedSize + TraceFormat.maxMetadataBytes + 4 + TraceFormat.chunkHeaderSize) ?? Data())
        guard let first = firstChunkOffset(head) else {
            throw TraceFileError(path: input, part: .header, offset: 0, problem: problem + "; and no valid chunk follows it: nothing to repair")
        }
        let scratch = output + ".header-rebuilt"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        guard FileManager.default.createFile(atPath: scratch, contents: Data(try TraceWriter.header(metadata))),
              let copy = FileHandle(forWritingAtPath: scratch)
        else {
            throw TraceFileError(path: scratch, part: .file, offset: 0, problem: "cannot be written (next to \(output))")
        }
        defer { try? copy.close() }
        try copy.seekToEnd()
        try handle.seek(toOffset: UInt64(first))
        while let block = try handle.read(upToCount: 4 << 20), !block.isEmpty { try copy.write(contentsOf: block) }
        var report = try repair(try TraceReader(path: scratch), to: output, options: options)
        report.headerRebuilt = problem
        // The scratch file's trailer points past a header of another length: then the chunks
        // were found by a scan, which is no news about the input.
        if report.recovery?.contains("trailer") == true || report.recovery?.contains("footer") == true { report.recovery = nil }
        return report
    }

    /// The offset of the first valid chunk header after the fixed part of a file header.
    static func firstChunkOffset(_ bytes: [UInt8]) -> Int? {
        var i = TraceFormat.headerFixedSize
        while i + TraceFormat.chunkHeaderSize <= bytes.count {
            if bytes[i] == 0x56 && bytes[i + 1] == 0x51 && bytes[i + 2] == 0x43 && bytes[i + 3] == 0x4B {
                let valid = bytes[i..<i + TraceFormat.chunkHeaderSize].withUnsafeBytes { raw -> Bool in
                    if case .success(let header) = ChunkHeader.read(raw), header.index == 0 { return true }
                    return false
                }
                if valid { return i }
            }
            i += 1
        }
        return nil
    }

    static func repair(_ reader: TraceReader, to output: String, options: TraceWriterOptions) throws -> Report {
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
