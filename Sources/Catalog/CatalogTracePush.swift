import Foundation
import Trace

/// What `traces push` stored: the trace's row and how many bytes went in.
public struct CatalogPush: Sendable {
    public var trace: CatalogTrace
    public var chunks: Int
    public var bytes: Int64
}

/// A pushed trace's bytes outside its chunks: the file header (with the metadata) and the
/// trailer with the footer; with the chunk rows' places, all it takes to rebuild the file.
struct CatalogTraceFrame: Sendable {
    var fileSize: UInt64
    var header: Data
    /// Where the trailer starts in the file; `tail` runs from there to the end.
    var tailOffset: UInt64
    var tail: Data
    /// Each chunk's place in the file, by chunk index.
    var chunks: [(offset: UInt64, length: Int)]
}

extension CatalogStore {
    /// Stores the finished trace at `tracePath` in the catalog itself: its row (as `register`),
    /// each chunk's bytes on its chunk row exactly as they are in the file, and the header and
    /// trailer on the trace row. Any host can then replay it, or pull the file back byte for
    /// byte. One transaction for the bytes: a push that dies leaves the trace unpushed.
    public func push(tracePath: String) throws -> CatalogPush {
        let absolute = URL(fileURLWithPath: tracePath).standardizedFileURL.path
        let reader: TraceReader
        do { reader = try TraceReader(path: absolute) } catch { throw CatalogError.trace(error) }
        let trace = try register(reader, path: absolute)
        let bytes = try storeBytes(of: reader, onTrace: trace.id)
        var pushed = trace
        pushed.isPushed = true
        return CatalogPush(trace: pushed, chunks: reader.chunks.count, bytes: bytes)
    }

    /// Stores `reader`'s bytes on trace row `traceId`: each chunk on its row, the header and the
    /// trailer on the trace row, in one transaction. Returns the bytes stored.
    func storeBytes(of reader: TraceReader, onTrace traceId: Int64) throws -> Int64 {
        guard let trailerOffset = reader.trailerOffset else { throw CatalogError.incomplete(path: reader.path, problem: "no trailer") }
        func raw(_ offset: UInt64, _ count: Int) throws -> Data {
            do throws(TraceFileError) { return Data(try reader.rawBytes(offset: offset, count: count)) } catch { throw CatalogError.trace(error) }
        }
        return try write { db in
            var bytes: Int64 = 0
            for (i, chunk) in reader.chunks.enumerated() {
                let data = try raw(chunk.offset, Int(chunk.length))
                try db.execute("UPDATE traceChunk SET bytes = ? WHERE traceId = ? AND chunkIndex = ?", [data, traceId, i])
                bytes += Int64(data.count)
            }
            let header = try raw(0, reader.headerLength)
            let tail = try raw(trailerOffset, Int(reader.fileSize - trailerOffset))
            try db.execute("UPDATE trace SET headerBytes = ?, trailerBytes = ? WHERE id = ?", [header, tail, traceId])
            return bytes + Int64(header.count + tail.count)
        }
    }

    /// The header, trailer and chunk places of pushed trace `traceId`.
    func frame(ofTrace traceId: Int64) throws -> CatalogTraceFrame {
        try read { db in
            guard let row = try db.first("SELECT fileSize, headerBytes, trailerBytes, name FROM trace WHERE id = ?", [traceId]) else {
                throw CatalogError.notFound("\(traceId)")
            }
            guard let header = row.data("headerBytes"), let tail = row.data("trailerBytes") else {
                throw CatalogError.database("trace \(traceId) (\(row.string("name"))) was catalogued but never pushed: its bytes are not in \(location)")
            }
            let chunks = try db.query("SELECT \"offset\", length FROM traceChunk WHERE traceId = ? ORDER BY chunkIndex", [traceId]).map {
                (offset: UInt64($0.int64("offset")), length: $0.int("length"))
            }
            let size = UInt64(row.int64("fileSize"))
            return CatalogTraceFrame(fileSize: size, header: header, tailOffset: size - UInt64(tail.count), tail: tail, chunks: chunks)
        }
    }

    /// The bytes of chunks `indices` of pushed trace `traceId`, by index: one query for them all.
    func chunkBytes(ofTrace traceId: Int64, indices: [Int]) throws -> [Int: Data] {
        guard !indices.isEmpty else { return [:] }
        return try readStatement { db in
            let marks = Array(repeating: "?", count: indices.count).joined(separator: ", ")
            var found: [Int: Data] = [:]
            for row in try db.query("SELECT chunkIndex, bytes FROM traceChunk WHERE traceId = ? AND chunkIndex IN (\(marks))",
                                    [traceId] + indices.map { $0 as any CatalogBindable }) {
                guard let data = row.data("bytes") else { throw CatalogError.database("chunk \(row.int("chunkIndex")) of trace \(traceId) has no bytes in \(location)") }
                found[row.int("chunkIndex")] = data
            }
            return found
        }
    }

    /// Writes pushed trace `traceId` to `path`, byte for byte the file that was pushed: into
    /// PATH.partial first, fsynced, then renamed, and checked (every chunk) before it is kept.
    /// Refuses an existing file unless `replaceExisting`.
    @discardableResult
    public func pull(traceId: Int64, to path: String, replaceExisting: Bool = false) throws -> TraceVerification {
        let frame = try frame(ofTrace: traceId)
        do { try PartialFile.check(path: path, replaceExisting: replaceExisting) } catch { throw CatalogError.database(error.description) }
        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
            throw CatalogError.database("cannot write \(partial)")
        }
        var handleOpen = true
        do {
            handle.write(frame.header)
            // A few chunks a query: bounded memory, few round trips.
            var index = 0
            while index < frame.chunks.count {
                let batch = Array(index..<min(frame.chunks.count, index + 16))
                let bytes = try chunkBytes(ofTrace: traceId, indices: batch)
                for i in batch {
                    guard let data = bytes[i], data.count == frame.chunks[i].length else {
                        throw CatalogError.database("chunk \(i) of trace \(traceId) is missing or has the wrong length in \(location)")
                    }
                    handle.write(data)
                }
                index += batch.count
            }
            handle.write(frame.tail)
            try handle.synchronize()
            handleOpen = false
            try handle.close()
            let verification = try TraceReader(path: partial).verify()
            guard verification.isClean, (try FileManager.default.attributesOfItem(atPath: partial)[.size] as? NSNumber)?.uint64Value == frame.fileSize else {
                throw CatalogError.database("the pulled copy of trace \(traceId) does not verify: \(verification.lines.joined(separator: "; "))")
            }
            if replaceExisting { try? FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: partial, toPath: path)
            return verification
        } catch {
            if handleOpen { try? handle.close() }  // never twice: the number may be another file's by now
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }
}
