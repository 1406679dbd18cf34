import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// Reads a .vqt trace with bounded memory: the header and the chunk index are loaded at open,
/// chunks are read and decoded one at a time on demand.
///
/// A finished trace is indexed by its trailer. A trace without a valid trailer (its writer
/// crashed, or the tail was cut) is indexed by scanning chunk headers from the start; every
/// complete chunk stays readable and `recovery` says what was wrong with the tail.
/// Not thread-safe: one thread at a time (it may be handed from one thread to another).
public final class TraceReader: @unchecked Sendable {
    /// The file path, or the name of the source the bytes come from (`TraceByteSource.name`).
    public let path: String
    /// Where the bytes come from: the file, or a catalog that holds its chunks.
    public let source: any TraceByteSource
    public let metadata: TraceMetadata
    public let majorVersion: UInt16
    public let minorVersion: UInt16
    /// Bytes of the file header (fixed part, metadata JSON and checksum).
    public let headerLength: Int
    public let fileSize: UInt64
    // One thread at a time (see above): no runtime exclusivity checks on the per-chunk state.
    /// Every readable chunk, in file order (which is submit-time order).
    @exclusivity(unchecked) public private(set) var chunks: [ChunkIndexEntry] = []
    @exclusivity(unchecked) public private(set) var totals = TraceTotals()
    /// Why the index comes from a scan rather than the trailer; nil for a finished trace.
    @exclusivity(unchecked) public private(set) var recovery: String?
    /// Where the trailer starts, when the footer points at a valid one.
    @exclusivity(unchecked) public private(set) var trailerOffset: UInt64?
    /// The stored checksums of the header and of the trailer (0 without a valid trailer).
    public let headerChecksum: UInt32
    @exclusivity(unchecked) public private(set) var trailerChecksum: UInt32 = 0

    /// Tells one finished trace file from another under the same name: the header and trailer
    /// checksums (which cover the metadata and every chunk's place, count and times) and the
    /// size. A catalog keeps it beside each run, so that a report knows when the file at a
    /// run's path is no longer the trace that run replayed.
    public var fingerprint: String {
        "\(String(headerChecksum, radix: 16))-\(String(trailerChecksum, radix: 16))-\(fileSize)"
    }

    @exclusivity(unchecked) var buffer: UnsafeMutableRawBufferPointer
    let decoder = ChunkDecoder(codec: ZstdCodec())

    /// Opens the .vqt file at `path`.
    public convenience init(path: String) throws(TraceFileError) {
        try self.init(source: TraceFileSource(path: path))
    }

    /// Opens the trace whose bytes `source` gives: the header and the index are read now.
    public init(source: any TraceByteSource) throws(TraceFileError) {
        self.source = source
        path = source.name
        fileSize = source.size
        buffer = .allocate(byteCount: 1 << 16, alignment: 16)
        do throws(TraceFileError) {
            // Header.
            if fileSize < UInt64(TraceFormat.headerFixedSize) {
                let head = try Self.pread(source, &buffer, offset: 0, count: Int(fileSize), part: .header)
                let looksLikeTrace = Array(head.prefix(8)) == Array(TraceFormat.fileMagic.prefix(head.count))
                throw TraceFileError(path: path, part: .header, offset: 0, problem: looksLikeTrace
                    ? "header cut short: the file has \(fileSize) of at least \(TraceFormat.headerFixedSize) bytes"
                    : "not a vqtrace file (no \"VQTRACE\" magic)")
            }
            let fixed = try Self.pread(source, &buffer, offset: 0, count: TraceFormat.headerFixedSize, part: .header)
            var r = ByteReader(fixed)
            let magic = try! r.bytes(8)
            guard Array(magic) == TraceFormat.fileMagic else {
                throw TraceFileError(path: path, part: .header, offset: 0, problem: "not a vqtrace file (no \"VQTRACE\" magic)")
            }
            majorVersion = try! r.u16()
            minorVersion = try! r.u16()
            guard majorVersion == TraceFormat.majorVersion else {
                throw TraceFileError(
                    path: path, part: .header, offset: 8,
                    problem: "format version \(majorVersion).\(minorVersion) is not readable by this vqtrace (it reads \(TraceFormat.majorVersion).x); use a newer vqtrace")
            }
            let length = Int(try! r.u32())
            let metadataLength = Int(try! r.u32())
            guard metadataLength <= TraceFormat.maxMetadataBytes, length == TraceFormat.headerFixedSize + metadataLength + 4 else {
                throw TraceFileError(path: path, part: .header, offset: 12, problem: "header length \(length) and metadata length \(metadataLength) disagree")
            }
            headerLength = length
            let whole = try Self.pread(source, &buffer, offset: 0, count: length, part: .header)
            let stored = whole.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self).littleEndian
            let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: whole[0..<length - 4]))
            guard stored == computed else {
                throw TraceFileError(path: path, part: .header, offset: 0, problem: "header checksum mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))")
            }
            headerChecksum = stored
            do {
                metadata = try TraceMetadata.decode(UnsafeRawBufferPointer(rebasing: whole[TraceFormat.headerFixedSize..<length - 4]))
            } catch {
                throw TraceFileError(path: path, part: .header, offset: UInt64(TraceFormat.headerFixedSize), problem: "metadata JSON: \(error)")
            }
        } catch {
            buffer.deallocate()
            throw error
        }
        if let problem = loadTrailer() {
            recovery = problem
            scanChunks()
        }
    }

    deinit {
        buffer.deallocate()
    }

    /// Whether the trace was finished by its writer and its trailer is intact.
    public var isComplete: Bool { recovery == nil }

    // MARK: Index

    /// Reads the trailer the footer points at; returns why it cannot be used, or nil on success.
    private func loadTrailer() -> String? {
        let minimum = UInt64(headerLength + TraceFormat.footerSize)
        guard fileSize >= minimum else { return "no trailer: the file ends at byte \(fileSize)" }
        let footerOffset = fileSize - UInt64(TraceFormat.footerSize)
        guard let footer = try? Self.pread(source, &buffer, offset: footerOffset, count: TraceFormat.footerSize, part: .trailer) else {
            return "footer unreadable"
        }
        guard Array(footer[0..<8]) == TraceFormat.footerMagic else { return "no trailer: the writer did not finish (no footer at byte \(footerOffset))" }
        var r = ByteReader(footer, offset: 8)
        let offset = try! r.u64()
        let length = UInt64(try! r.u32())
        let crc = try! r.u32()
        guard offset >= UInt64(headerLength), length >= UInt64(TraceFormat.trailerFixedSize), offset + length == footerOffset else {
            return "footer at byte \(footerOffset) points at a trailer outside the file"
        }
        guard length <= UInt64(TraceFormat.maxChunkBytes) * 4,
              let trailer = try? Self.pread(source, &buffer, offset: offset, count: Int(length), part: .trailer)
        else { return "trailer unreadable" }
        let computed = CRC32C.checksum(trailer)
        guard computed == crc else { return "trailer at byte \(offset): checksum mismatch (stored 0x\(String(crc, radix: 16)), computed 0x\(String(computed, radix: 16)))" }
        var t = ByteReader(trailer)
        guard (try? t.u32()) == TraceFormat.trailerMagic else { return "trailer at byte \(offset): no \"VQTI\" magic" }
        let count = Int(try! t.u32())
        guard UInt64(TraceFormat.trailerFixedSize) + UInt64(count) * UInt64(TraceFormat.trailerEntrySize) == length else {
            return "trailer at byte \(offset): \(count) entries do not fit its \(length) bytes"
        }
        var loaded = TraceTotals()
        loaded.records = try! t.u64()
        for i in 0..<4 { loaded.mix[i] = try! t.u64() }
        loaded.firstSubmitNs = try! t.u64()
        loaded.lastSubmitNs = try! t.u64()
        var entries: [ChunkIndexEntry] = []
        entries.reserveCapacity(count)
        var expectedOffset = UInt64(headerLength)
        var records: UInt64 = 0
        var previousLast: UInt64 = 0
        for i in 0..<count {
            let entry = ChunkIndexEntry(offset: try! t.u64(), length: try! t.u32(), recordCount: try! t.u32(),
                                        firstSubmitNs: try! t.u64(), lastSubmitNs: try! t.u64())
            guard entry.offset == expectedOffset, entry.length >= UInt32(TraceFormat.chunkHeaderSize),
                  entry.firstSubmitNs <= entry.lastSubmitNs, entry.firstSubmitNs >= previousLast, entry.recordCount > 0
            else { return "trailer at byte \(offset): entry for chunk \(i) is inconsistent" }
            expectedOffset += UInt64(entry.length)
            previousLast = entry.lastSubmitNs
            records += UInt64(entry.recordCount)
            entries.append(entry)
        }
        guard expectedOffset == offset, records == loaded.records, loaded.mix.reduce(0, +) == records else {
            return "trailer at byte \(offset): chunk entries do not add up to the file or the totals"
        }
        chunks = entries
        totals = loaded
        trailerOffset = offset
        trailerChecksum = crc
        return nil
    }

    /// Indexes the file by walking chunk headers from the end of the file header. Stops at the
    /// first chunk that is cut short or whose header is damaged, and says so in `recovery`.
    private func scanChunks() {
        var offset = UInt64(headerLength)
        var entries: [ChunkIndexEntry] = []
        var scanned = TraceTotals()
        var note: String?
        var notes: [String] = []
        while offset < fileSize {
            let available = Int(min(UInt64(TraceFormat.chunkHeaderSize), fileSize - offset))
            guard let bytes = try? Self.pread(source, &buffer, offset: offset, count: available, part: .chunk(entries.count)) else { break }
            // A footer right after the last chunk: the trailer itself was damaged.
            if available >= 4 && bytes.loadUnaligned(as: UInt32.self).littleEndian == TraceFormat.trailerMagic { break }
            switch ChunkHeader.read(bytes) {
            case .failure(let problem):
                // A damaged header costs only its chunk (and any its damage swallowed): the
                // scan resumes at the next valid header, and each lost chunk keeps its place
                // in the index, unreadable, so that the chunks after it keep their numbers.
                if case .truncated = problem {} else if let resumed = resume(after: offset, lost: entries.count, into: &entries) {
                    notes.append("chunk \(entries.count - resumed.lost) at byte \(offset): \(problem); resumed at byte \(resumed.offset)")
                    offset = resumed.offset
                    continue
                }
                note = "chunk \(entries.count) at byte \(offset): \(problem); \(fileSize - offset) bytes from there are not read"
            case .success(let header):
                if Int(header.index) != entries.count {
                    note = "chunk \(entries.count) at byte \(offset): header says it is chunk \(header.index)"
                } else if offset + UInt64(header.totalLength) > fileSize {
                    note = "chunk \(entries.count) at byte \(offset) is cut short: \(fileSize - offset) of \(header.totalLength) bytes (an unfinished write)"
                } else if header.firstSubmitNs < scanned.lastSubmitNs {
                    note = "chunk \(entries.count) at byte \(offset) starts before the previous chunk ends"
                } else {
                    entries.append(ChunkIndexEntry(offset: offset, length: UInt32(header.totalLength), recordCount: header.recordCount,
                                                   firstSubmitNs: header.firstSubmitNs, lastSubmitNs: header.lastSubmitNs))
                    if scanned.records == 0 { scanned.firstSubmitNs = header.firstSubmitNs }
                    scanned.records += UInt64(header.recordCount)
                    scanned.mix[0] += UInt64(header.mix.0)
                    scanned.mix[1] += UInt64(header.mix.1)
                    scanned.mix[2] += UInt64(header.mix.2)
                    scanned.mix[3] += UInt64(header.mix.3)
                    scanned.lastSubmitNs = header.lastSubmitNs
                    offset += UInt64(header.totalLength)
                    continue
                }
            }
            break
        }
        chunks = entries
        totals = scanned
        for line in notes + (note.map { [$0] } ?? []) { recovery = (recovery.map { $0 + "; " } ?? "") + line }
    }

    /// After a damaged chunk header at `offset` (chunk `lost`): the next valid header whose
    /// chunk number follows, with an unreadable placeholder entry (no records) for each chunk
    /// in between; nil when there is none.
    private func resume(after offset: UInt64, lost: Int, into entries: inout [ChunkIndexEntry]) -> (offset: UInt64, lost: Int)? {
        guard let next = nextChunkHeader(after: offset, limit: fileSize),
              let bytes = try? Self.pread(source, &buffer, offset: next, count: TraceFormat.chunkHeaderSize, part: .chunk(lost)),
              case .success(let header) = ChunkHeader.read(bytes), Int(header.index) > lost, next - offset <= UInt64(UInt32.max)
        else { return nil }
        let previousLast = entries.last?.lastSubmitNs ?? header.firstSubmitNs
        for i in lost..<Int(header.index) {
            entries.append(ChunkIndexEntry(offset: i == lost ? offset : next, length: i == lost ? UInt32(next - offset) : 0, recordCount: 0,
                                           firstSubmitNs: previousLast, lastSubmitNs: previousLast))
        }
        return (next, Int(header.index) - lost)
    }

    // MARK: Chunks

    /// Reads and decodes chunk `i` into `columns`. With `queues`, a chunk holding none of them
    /// is skipped after its queue set is read (returns false, `columns` is left empty).
    @discardableResult
    public func readChunk(_ i: Int, into columns: RecordColumns, queues: Set<UInt32>? = nil) throws(TraceFileError) -> Bool {
        precondition(i >= 0 && i < chunks.count, "chunk index out of range")
        let entry = chunks[i]
        let bytes = try Self.pread(source, &buffer, offset: entry.offset, count: Int(entry.length), part: .chunk(i))
        let header: ChunkHeader
        switch ChunkHeader.read(bytes) {
        case .failure(let problem):
            throw TraceFileError(path: path, part: .chunk(i), offset: entry.offset, problem: problem.description)
        case .success(let h): header = h
        }
        guard Int(header.index) == i, header.totalLength == Int(entry.length), header.recordCount == entry.recordCount,
              header.firstSubmitNs == entry.firstSubmitNs, header.lastSubmitNs == entry.lastSubmitNs
        else {
            throw TraceFileError(path: path, part: .chunk(i), offset: entry.offset, problem: "chunk header disagrees with the trailer index")
        }
        columns.removeAll()
        do {
            return try decoder.decode(
                header: header, body: UnsafeRawBufferPointer(rebasing: bytes[TraceFormat.chunkHeaderSize...]), into: columns,
                onlyIfQueueSetMeets: queues)
        } catch {
            throw TraceFileError(path: path, part: .chunk(i), offset: entry.offset + UInt64(TraceFormat.chunkHeaderSize), problem: error.description)
        }
    }

    /// The chunks that may hold records submitted in [from, to): chunks are in time order, so
    /// this is a binary search of the index.
    public func chunkRange(from: UInt64, to: UInt64) -> Range<Int> {
        guard from < to else { return 0..<0 }
        var lo = 0
        var hi = chunks.count
        while lo < hi {  // first chunk whose last record is at or after `from`
            let mid = (lo + hi) / 2
            if chunks[mid].lastSubmitNs < from { lo = mid + 1 } else { hi = mid }
        }
        var end = lo
        var hi2 = chunks.count
        while end < hi2 {  // first chunk that starts at or after `to`
            let mid = (end + hi2) / 2
            if chunks[mid].firstSubmitNs < to { end = mid + 1 } else { hi2 = mid }
        }
        return lo..<end
    }

    /// A cursor over records in submit-time order (ties in file order), optionally limited to a
    /// time window [from, to) and to some queues. Per-queue order is the same filtered.
    public func cursor(from: UInt64 = 0, to: UInt64 = .max, queues: Set<QueueKey>? = nil, skippingDamagedChunks: Bool = false) -> TraceCursor {
        var cursor = TraceCursor(reader: self, from: from, to: to, queues: queues.map { Set($0.map(\.rawValue)) })
        cursor.skipsDamagedChunks = skippingDamagedChunks
        return cursor
    }

    /// Reads exactly `count` bytes at `offset` into the reusable buffer.
    static func pread(_ source: any TraceByteSource, _ buffer: inout UnsafeMutableRawBufferPointer, offset: UInt64, count: Int, part: TraceFileError.Part) throws(TraceFileError) -> UnsafeRawBufferPointer {
        if buffer.count < count {
            buffer.deallocate()
            buffer = .allocate(byteCount: max(count, buffer.count * 2), alignment: 16)
        }
        try source.read(offset: offset, count: count, into: buffer, part: part)
        return UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }
}

/// Streams records from a `TraceReader`, one decoded chunk in memory at a time.
///
/// By default a chunk that cannot be read ends the stream with its error. With
/// `skipsDamagedChunks` the cursor goes on with the next chunk and lists what it skipped in
/// `damaged`: each chunk is checked on its own, so a damaged one costs only its records (and
/// each queue's order among the records that remain is unchanged).
public struct TraceCursor {
    let reader: TraceReader
    let columns: RecordColumns
    let from: UInt64
    let to: UInt64
    let queues: Set<UInt32>?
    var chunk: Int
    let endChunk: Int
    var position = 0
    /// Skip chunks that cannot be read instead of throwing.
    public var skipsDamagedChunks = false
    /// The chunks skipped so far, in file order.
    public private(set) var damaged: [DamagedChunk] = []

    init(reader: TraceReader, from: UInt64, to: UInt64, queues: Set<UInt32>?) {
        self.reader = reader
        self.from = from
        self.to = to
        self.queues = queues
        let range = reader.chunkRange(from: from, to: to)
        chunk = range.lowerBound
        endChunk = range.upperBound
        let largest = reader.chunks[range].map { Int($0.recordCount) }.max() ?? 1
        columns = RecordColumns(capacity: max(largest, 1))
    }

    /// A cursor over `queue` alone that starts at the record `next()` returned last (which it
    /// returns again), then goes on from there: a reader following several queues hands one of
    /// them its own cursor when that queue has to wait and the others must not. Its chunk is
    /// decoded again; nil when no record has been returned from the current chunk.
    public func following(_ queue: QueueKey) throws(TraceFileError) -> TraceCursor? {
        guard position > 0, position <= columns.count else { return nil }
        var copy = TraceCursor(reader: reader, from: from, to: to, queues: [queue.rawValue], chunk: chunk - 1, endChunk: endChunk)
        copy.skipsDamagedChunks = skipsDamagedChunks
        try reader.readChunk(chunk - 1, into: copy.columns)
        copy.position = position - 1
        return copy
    }

    init(reader: TraceReader, from: UInt64, to: UInt64, queues: Set<UInt32>?, chunk: Int, endChunk: Int) {
        self.reader = reader
        self.from = from
        self.to = to
        self.queues = queues
        self.chunk = chunk + 1
        self.endChunk = endChunk
        let largest = reader.chunks[chunk..<endChunk].map { Int($0.recordCount) }.max() ?? 1
        columns = RecordColumns(capacity: max(largest, 1))
    }

    /// The next record, nil at the end; throws where a chunk cannot be read.
    public mutating func next() throws(TraceFileError) -> TraceRecord? {
        while true {
            while position < columns.count {
                let i = position
                position += 1
                let submit = columns.submitNs[i]
                if submit < from { continue }
                if submit >= to { return nil }
                if let queues, !queues.contains(columns.queue[i]) { continue }
                return columns[i]
            }
            guard chunk < endChunk else { return nil }
            let i = chunk
            chunk += 1
            position = 0
            do {
                try reader.readChunk(i, into: columns, queues: queues)
            } catch {
                columns.removeAll()
                guard skipsDamagedChunks else { throw error }
                let entry = reader.chunks[i]
                damaged.append(DamagedChunk(index: i, records: UInt64(entry.recordCount), firstSubmitNs: entry.firstSubmitNs,
                                            lastSubmitNs: entry.lastSubmitNs, error: error))
            }
        }
    }
}

extension TraceReader {
    /// The queues chunk `i` holds, read from its header and queue set without decompressing it.
    public func queueSet(ofChunk i: Int) throws(TraceFileError) -> [QueueKey] {
        precondition(i >= 0 && i < chunks.count, "chunk index out of range")
        let entry = chunks[i]
        let prefix = Int(min(UInt64(entry.length), UInt64(TraceFormat.chunkHeaderSize + 4096)))
        var bytes = try Self.pread(source, &buffer, offset: entry.offset, count: prefix, part: .chunk(i))
        guard case .success(let header) = ChunkHeader.read(bytes) else {
            throw TraceFileError(path: path, part: .chunk(i), offset: entry.offset, problem: "chunk header damaged")
        }
        let needed = TraceFormat.chunkHeaderSize + Int(header.queueSetLength)
        if needed > prefix {
            bytes = try Self.pread(source, &buffer, offset: entry.offset, count: needed, part: .chunk(i))
        }
        do {
            try decoder.readQueueSet(UnsafeRawBufferPointer(rebasing: bytes[TraceFormat.chunkHeaderSize..<needed]),
                                     recordCount: Int(header.recordCount))
        } catch {
            throw TraceFileError(path: path, part: .chunk(i), offset: entry.offset + UInt64(TraceFormat.chunkHeaderSize), problem: error.description)
        }
        return decoder.queueSet.map { QueueKey(rawValue: $0) }
    }
}
