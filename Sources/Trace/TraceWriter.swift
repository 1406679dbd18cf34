#if canImport(Glibc)
import Glibc
#endif

/// When the writer asks the kernel to put the trace on stable storage.
public enum TraceFsyncPolicy: String, CaseIterable, Sendable {
    /// Never: a process crash loses nothing (the page cache has every completed chunk), a power
    /// loss may lose what the kernel had not written yet.
    case none
    /// fdatasync after every chunk: a power loss loses at most the unfinished chunk.
    case chunk
    /// fsync once, when the trace is finished.
    case close
}

/// Options of a trace writer.
public struct TraceWriterOptions: Sendable {
    /// Records per chunk: the unit of crash loss, of checksumming and of window seeks.
    public var recordsPerChunk: Int = 65_536
    /// zstd level, 1...19.
    public var compressionLevel: Int32 = 3
    public var fsync: TraceFsyncPolicy = .close
    /// Replace a trace (or a leftover partial file) already at the path. Without it the writer
    /// refuses to start when the path exists, and to publish when another writer took it meanwhile.
    public var replaceExisting = false
    /// Keep `NAME.partial` when the writer is dropped unfinished (a recording whose completed
    /// chunks are worth recovering); by default an unfinished trace is removed.
    public var keepUnfinished = false

    public init(recordsPerChunk: Int = 65_536, compressionLevel: Int32 = 3, fsync: TraceFsyncPolicy = .close,
                replaceExisting: Bool = false, keepUnfinished: Bool = false) {
        self.recordsPerChunk = recordsPerChunk
        self.compressionLevel = compressionLevel
        self.fsync = fsync
        self.replaceExisting = replaceExisting
        self.keepUnfinished = keepUnfinished
    }
}

/// Writes a .vqt trace as a stream: records go into an in-memory chunk of bounded size, each full
/// chunk is encoded and written with one write, and `finish()` appends the trailer index.
///
/// Memory is bounded by `recordsPerChunk` whatever the trace length. The trace is written as
/// `NAME.partial` and appears under its name only when `finish()` has written the trailer (see
/// `PartialFile`): a reader never sees a torn trace under a trace's name, and two writers of one
/// name cannot interleave. A crash at any point leaves the partial file with the header and
/// every chunk whose write completed readable (the reader then scans chunks instead of using
/// the trailer); an error or an interruption removes it unless `keepUnfinished`.
public final class TraceWriter {
    public let path: String
    public let metadata: TraceMetadata
    public let options: TraceWriterOptions
    private let file: PartialFile
    private var fd: Int32 { file.fd }
    private let columns: RecordColumns
    private let encoder: ChunkEncoder
    // One thread appends: no runtime exclusivity checks on the per-record state.
    @exclusivity(unchecked) private var out = ByteWriter()
    @exclusivity(unchecked) private var fileOffset: UInt64 = 0
    @exclusivity(unchecked) private var index: [ChunkIndexEntry] = []
    @exclusivity(unchecked) public private(set) var totals = TraceTotals()
    @exclusivity(unchecked) private var lastSubmitNs: UInt64 = 0
    @exclusivity(unchecked) private var finished = false

    /// Starts the trace at `path` (as `path.partial` until finished) and writes the header.
    public init(path: String, metadata: TraceMetadata, options: TraceWriterOptions = TraceWriterOptions()) throws(TraceWriteError) {
        guard !metadata.devices.isEmpty else { throw .noDevices }
        for (i, device) in metadata.devices.enumerated() {
            if device.numQueues == 0 { throw .invalidDevice(index: i, problem: "num-queues is 0") }
            if device.capacitySectors == 0 { throw .invalidDevice(index: i, problem: "capacity is 0") }
        }
        guard metadata.devices.count <= Int(UInt16.max) + 1 else { throw .invalidOption("at most 65536 devices") }
        guard options.recordsPerChunk >= 1 && options.recordsPerChunk <= TraceFormat.maxChunkRecords else {
            throw .invalidOption("records per chunk must be 1...\(TraceFormat.maxChunkRecords)")
        }
        guard (1...19).contains(options.compressionLevel) else { throw .invalidOption("zstd level must be 1...19") }
        self.path = path
        self.metadata = metadata
        self.options = options
        columns = RecordColumns(capacity: options.recordsPerChunk)
        encoder = ChunkEncoder(codec: ZstdCodec(level: options.compressionLevel))
        do { file = try PartialFile(path: path, replaceExisting: options.replaceExisting) } catch { throw .output(error) }
        file.keepOnDeinit = options.keepUnfinished

        out.append(contentsOf: try Self.header(metadata))
        try flushOut()
    }

    /// A file header for `metadata`: magic, version, lengths, the metadata JSON and its checksum
    /// (what `init` writes first, and what a repair of a damaged header writes in its place).
    static func header(_ metadata: TraceMetadata) throws(TraceWriteError) -> [UInt8] {
        let json: [UInt8]
        do { json = try metadata.encoded() } catch { throw .invalidOption("metadata does not encode as JSON: \(error)") }
        var out = ByteWriter()
        out.append(contentsOf: TraceFormat.fileMagic)
        out.u16(TraceFormat.majorVersion)
        out.u16(TraceFormat.minorVersion)
        out.u32(UInt32(TraceFormat.headerFixedSize + json.count + 4))
        out.u32(UInt32(json.count))
        out.u32(0)  // flags, none defined
        out.append(contentsOf: json)
        out.u32(CRC32C.checksum(out.bytes))
        return out.bytes
    }

    /// Where the bytes are until `finish()` publishes them.
    public var partialPath: String { file.partialPath }

    /// Gives the trace up: its partial file is removed, nothing appears under its name.
    public func abandon() {
        file.abandon()
        finished = true
    }

    /// Records appended so far.
    public var recordCount: UInt64 { totals.records }

    /// Appends one record. Records must come in non-decreasing submit time; ties keep their order.
    @inline(__always)
    public func append(_ record: TraceRecord) throws(TraceWriteError) {
        if finished { throw .finished }
        let n = totals.records
        if record.submitNs < lastSubmitNs {
            throw .timeWentBackwards(record: n, previousNs: lastSubmitNs, submitNs: record.submitNs)
        }
        if let completion = record.completionNs, completion < record.submitNs || completion == RecordColumns.noCompletion {
            throw .completionBeforeSubmit(record: n, submitNs: record.submitNs, completionNs: completion)
        }
        let devices = metadata.devices
        guard Int(record.device) < devices.count else {
            throw .unknownDevice(record: n, device: record.device, deviceCount: devices.count)
        }
        let device = devices[Int(record.device)]
        guard record.vq < device.numQueues else {
            throw .queueOutOfRange(record: n, device: record.device, vq: record.vq, numQueues: device.numQueues)
        }
        let sectors = (UInt64(record.length) + 511) >> 9
        if record.type.addressesSectors
            && (record.sector >= device.capacitySectors || sectors > device.capacitySectors - record.sector)
        {
            throw .beyondCapacity(record: n, sector: record.sector, length: record.length, capacitySectors: device.capacitySectors)
        }
        if record.sector == UInt64.max {
            throw .beyondCapacity(record: n, sector: record.sector, length: record.length, capacitySectors: device.capacitySectors)
        }
        if n == 0 { totals.firstSubmitNs = record.submitNs }
        lastSubmitNs = record.submitNs
        totals.records = n + 1
        totals.lastSubmitNs = record.submitNs
        totals.mix[record.type.mixClass.rawValue] += 1
        columns.append(record)
        if columns.isFull { try writeChunk() }
    }

    /// Writes the unfinished chunk, the trailer index and the footer, applies the fsync policy and
    /// publishes the file under its name. Returns the totals.
    @discardableResult
    public func finish() throws(TraceWriteError) -> TraceTotals {
        if finished { throw .finished }
        if columns.count > 0 { try writeChunk() }
        let trailerOffset = fileOffset
        let trailerStart = out.count
        out.u32(TraceFormat.trailerMagic)
        out.u32(UInt32(index.count))
        out.u64(totals.records)
        for count in totals.mix { out.u64(count) }
        out.u64(totals.firstSubmitNs)
        out.u64(totals.lastSubmitNs)
        for entry in index {
            out.u64(entry.offset)
            out.u32(entry.length)
            out.u32(entry.recordCount)
            out.u64(entry.firstSubmitNs)
            out.u64(entry.lastSubmitNs)
        }
        let trailerLength = out.count - trailerStart
        let trailerCRC = out.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[trailerStart...])) }
        out.append(contentsOf: TraceFormat.footerMagic)
        out.u64(trailerOffset)
        out.u32(UInt32(trailerLength))
        out.u32(trailerCRC)
        try flushOut()
        finished = true
        do { try file.publish(sync: options.fsync != .none) } catch { throw .output(error) }
        return totals
    }

    private func writeChunk() throws(TraceWriteError) {
        let start = out.count
        let header: ChunkHeader
        do {
            header = try encoder.encode(columns, chunkIndex: UInt32(index.count), into: &out)
        } catch {
            throw .compression(error.description)
        }
        index.append(ChunkIndexEntry(
            offset: fileOffset + UInt64(start), length: UInt32(header.totalLength), recordCount: header.recordCount,
            firstSubmitNs: header.firstSubmitNs, lastSubmitNs: header.lastSubmitNs))
        columns.removeAll()
        try flushOut()
        if options.fsync == .chunk && fdatasync(fd) != 0 { throw .system(.last("fdatasync", path: file.partialPath)) }
    }

    /// Writes the pending bytes with as few write calls as the kernel allows.
    private func flushOut() throws(TraceWriteError) {
        var done = 0
        let total = out.count
        while done < total {
            let n = out.bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, total - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(.last("write", path: file.partialPath))
            }
            done += n
        }
        fileOffset += UInt64(total)
        out.removeAll()
    }
}
