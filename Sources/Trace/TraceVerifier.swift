/// The result of checking every byte of a trace.
public struct TraceVerification: Sendable {
    /// A chunk that cannot be read, where it is and why.
    public struct BadChunk: Sendable, Equatable {
        /// The chunk's number (from its header, or the one expected at that place).
        public var index: Int
        public var offset: UInt64
        public var problem: String
        /// Records the chunk held, when the trailer or its header says so.
        public var recordsLost: UInt64?
    }

    public var path: String
    public var chunksGood = 0
    public var recordsReadable: UInt64 = 0
    public var badChunks: [BadChunk] = []
    /// nil when the trailer is intact; otherwise what is wrong with it.
    public var trailerProblem: String?
    /// Bytes at the end that are not a complete chunk (an unfinished write), if any.
    public var tailProblem: String?

    /// Nothing is wrong: every chunk checks, the trailer is intact.
    public var isClean: Bool { badChunks.isEmpty && trailerProblem == nil && tailProblem == nil }

    /// The damage in one line, as the catalog keeps it on the trace's row: which chunks, how
    /// many records they held (when known), what else is wrong; nil when the trace is intact.
    public var damageSummary: String? {
        var parts: [String] = []
        if !badChunks.isEmpty {
            let names = badChunks.prefix(8).map { "\($0.index)" }.joined(separator: ", ") + (badChunks.count > 8 ? ", …" : "")
            let known = badChunks.compactMap(\.recordsLost)
            let lost = known.count == badChunks.count ? "\(known.reduce(0, +)) records lost" : "at least \(known.reduce(0, +)) records lost"
            parts.append("\(badChunks.count) damaged chunk\(badChunks.count == 1 ? "" : "s") (\(names)): \(lost)")
        }
        if let trailerProblem { parts.append("trailer: \(trailerProblem)") }
        if let tailProblem { parts.append(tailProblem) }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}

extension TraceReader {
    /// Checks every chunk of the file, headers, checksums and columns, walking the file itself
    /// rather than trusting the index. A damaged chunk header is skipped by searching for the
    /// next valid one, so one bad chunk never hides the good ones after it.
    public func verify() -> TraceVerification {
        var result = TraceVerification(path: path)
        result.trailerProblem = isComplete ? nil : recovery
        let limit = trailerOffset ?? fileSize
        let trailerCounts = isComplete ? chunks.map(\.recordCount) : []
        var columns = RecordColumns(capacity: 1)
        var offset = UInt64(headerLength)
        var expected = 0
        while offset < limit {
            let available = Int(min(UInt64(TraceFormat.chunkHeaderSize), limit - offset))
            guard let bytes = try? Self.pread(source, &buffer, offset: offset, count: available, part: .chunk(expected)) else { break }
            // The start of a trailer whose footer is missing: the chunks are over.
            if bytes.count >= 4 && bytes.loadUnaligned(as: UInt32.self).littleEndian == TraceFormat.trailerMagic { break }
            let parsed = ChunkHeader.read(bytes)
            guard case .success(let header) = parsed else {
                if case .failure(.truncated) = parsed {
                    result.tailProblem = "chunk \(expected) at byte \(offset) is cut short: \(limit - offset) bytes, not even a header (an unfinished write)"
                    break
                }
                let problem = { if case .failure(let p) = parsed { return p.description } else { return "" } }()
                let next = nextChunkHeader(after: offset, limit: limit)
                result.badChunks.append(.init(
                    index: expected, offset: offset,
                    problem: problem + (next.map { "; resumed at byte \($0)" } ?? "; no valid chunk after it"),
                    recordsLost: expected < trailerCounts.count ? UInt64(trailerCounts[expected]) : nil))
                guard let next else { break }
                offset = next
                if case .success(let h) = ChunkHeader.read((try? Self.pread(source, &buffer, offset: next, count: TraceFormat.chunkHeaderSize, part: .chunk(expected))) ?? UnsafeRawBufferPointer(start: nil, count: 0)) {
                    // Chunks skipped wholesale between the damaged header and this one.
                    for missing in (expected + 1)..<max(expected + 1, Int(h.index)) {
                        result.badChunks.append(.init(index: missing, offset: offset, problem: "lost with the damaged chunk before it",
                                                      recordsLost: missing < trailerCounts.count ? UInt64(trailerCounts[missing]) : nil))
                    }
                    expected = Int(h.index)
                }
                continue
            }
            let index = Int(header.index)
            if offset + UInt64(header.totalLength) > limit {
                result.tailProblem = "chunk \(index) at byte \(offset) is cut short: \(limit - offset) of \(header.totalLength) bytes (an unfinished write)"
                break
            }
            if columns.capacity < Int(header.recordCount) { columns = RecordColumns(capacity: Int(header.recordCount)) }
            do {
                let whole = try Self.pread(source, &buffer, offset: offset, count: header.totalLength, part: .chunk(index))
                _ = try decoder.decode(header: header, body: UnsafeRawBufferPointer(rebasing: whole[TraceFormat.chunkHeaderSize...]), into: columns)
                result.chunksGood += 1
                result.recordsReadable += UInt64(header.recordCount)
            } catch let error as ChunkBodyProblem {
                result.badChunks.append(.init(index: index, offset: offset + UInt64(TraceFormat.chunkHeaderSize), problem: error.description,
                                              recordsLost: UInt64(header.recordCount)))
            } catch {
                result.badChunks.append(.init(index: index, offset: offset, problem: "\(error)", recordsLost: UInt64(header.recordCount)))
            }
            offset += UInt64(header.totalLength)
            expected = index + 1
        }
        return result
    }

    /// The offset of the next byte position after `offset` holding a chunk header whose magic and
    /// checksum are valid.
    func nextChunkHeader(after offset: UInt64, limit: UInt64) -> UInt64? {
        var position = offset + 1
        let window = 1 << 20
        while position + UInt64(TraceFormat.chunkHeaderSize) <= limit {
            let count = Int(min(UInt64(window), limit - position))
            guard let bytes = try? Self.pread(source, &buffer, offset: position, count: count, part: .file) else { return nil }
            var i = 0
            while i + TraceFormat.chunkHeaderSize <= count {
                if bytes[i] == 0x56 && bytes[i + 1] == 0x51 && bytes[i + 2] == 0x43 && bytes[i + 3] == 0x4B,
                   case .success = ChunkHeader.read(UnsafeRawBufferPointer(rebasing: bytes[i..<i + TraceFormat.chunkHeaderSize]))
                {
                    return position + UInt64(i)
                }
                i += 1
            }
            if count < window { return nil }
            position += UInt64(count - TraceFormat.chunkHeaderSize + 1)
        }
        return nil
    }
}
