import Foundation
import Trace

/// A pushed trace read straight from the catalog: the header and trailer come with the first
/// query, and each chunk is fetched when a reader first asks for a byte of it, so a replay of a
/// window fetches that window's chunks and nothing else. Fetched chunks are kept (up to
/// `cacheBytes`), so the runs of a sweep, and the feeds of `--vms` copies, fetch each once.
public final class CatalogTraceSource: TraceByteSource, @unchecked Sendable {
    public let name: String
    public let size: UInt64
    public let traceId: Int64
    private let store: any CatalogStore
    private let frame: CatalogTraceFrame
    private let lock = NSLock()
    private var cache: [Int: Data] = [:]
    private var cacheOrder: [Int] = []
    private var cachedBytes = 0
    private let cacheBytes: Int
    private var fetched = 0
    private var fetchedBytes: Int64 = 0

    /// The pushed trace `trace` of `store`; throws when its bytes are not there.
    public init(store: any CatalogStore, trace: CatalogTrace, cacheBytes: Int = 512 << 20) throws {
        self.store = store
        traceId = trace.id
        frame = try store.frame(ofTrace: trace.id)
        size = frame.fileSize
        name = "trace \(trace.id) (\(trace.name)) in \(store.location)"
        self.cacheBytes = cacheBytes
    }

    /// Chunks fetched from the catalog so far (a chunk read again from the cache is not counted).
    public var chunksFetched: Int { lock.withLock { fetched } }
    /// Bytes of those chunks.
    public var bytesFetched: Int64 { lock.withLock { fetchedBytes } }

    public func read(offset: UInt64, count: Int, into buffer: UnsafeMutableRawBufferPointer, part: TraceFileError.Part) throws(TraceFileError) {
        var done = 0
        while done < count {
            let at = offset + UInt64(done)
            let (piece, start) = try bytes(at: at, part: part)
            let n = min(count - done, piece.count - start)
            guard n > 0 else { throw TraceFileError(path: name, part: part, offset: at, problem: "the trace ends \(count - done) bytes early") }
            piece.withUnsafeBytes { raw in (buffer.baseAddress! + done).copyMemory(from: raw.baseAddress! + start, byteCount: n) }
            done += n
        }
    }

    /// The stored piece (header, a chunk, or the trailer) that holds byte `offset`, and where in it.
    private func bytes(at offset: UInt64, part: TraceFileError.Part) throws(TraceFileError) -> (Data, Int) {
        if offset < UInt64(frame.header.count) { return (frame.header, Int(offset)) }
        if offset >= frame.tailOffset {
            guard offset < frame.fileSize else { throw TraceFileError(path: name, part: part, offset: offset, problem: "past the end of the trace") }
            return (frame.tail, Int(offset - frame.tailOffset))
        }
        // The last chunk that starts at or before `offset`.
        var lo = 0
        var hi = frame.chunks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if frame.chunks[mid].offset <= offset { lo = mid + 1 } else { hi = mid }
        }
        let index = lo - 1
        guard index >= 0, offset < frame.chunks[index].offset + UInt64(frame.chunks[index].length) else {
            throw TraceFileError(path: name, part: part, offset: offset, problem: "no stored chunk holds this byte")
        }
        return (try chunk(index, part: part), Int(offset - frame.chunks[index].offset))
    }

    private func chunk(_ index: Int, part: TraceFileError.Part) throws(TraceFileError) -> Data {
        if let hit = lock.withLock({ cache[index] }) { return hit }
        let data: Data
        do {
            guard let found = try store.chunkBytes(ofTrace: traceId, indices: [index])[index] else {
                throw CatalogError.database("chunk \(index) is not stored")
            }
            data = found
        } catch {
            throw TraceFileError(path: name, part: part, offset: frame.chunks[index].offset, problem: "cannot fetch from the catalog: \(error)")
        }
        lock.withLock {
            fetched += 1
            fetchedBytes += Int64(data.count)
            guard cache[index] == nil else { return }
            cache[index] = data
            cacheOrder.append(index)
            cachedBytes += data.count
            while cachedBytes > cacheBytes, let oldest = cacheOrder.first {
                cacheOrder.removeFirst()
                cachedBytes -= cache.removeValue(forKey: oldest)?.count ?? 0
            }
        }
        return data
    }
}

/// The trace a command's TRACE names, and where its bytes come from.
public struct ResolvedTrace: Sendable {
    public var location: TraceLocation
    /// Its catalog row, when it has one.
    public var catalogued: CatalogTrace?
    /// Set when the bytes come from the catalog (its counters say what was fetched).
    public var catalogSource: CatalogTraceSource?
}

extension CatalogStore {
    /// Where to read trace `trace` from: this host's file when it is here (or a file at its
    /// path that is the same trace, on a shared filesystem), else the catalog's copy when it
    /// was pushed. Throws `CatalogError.notHere` for another host's file that was never pushed.
    public func resolve(_ trace: CatalogTrace) throws -> ResolvedTrace {
        if FileManager.default.fileExists(atPath: trace.path) {
            let same = trace.host == host.name || (try? TraceReader(path: trace.path).fingerprint) == trace.fingerprint
            if same { return ResolvedTrace(location: .file(trace.path), catalogued: trace) }
        }
        guard trace.isPushed else { throw CatalogError.notHere(trace: "\(trace.id) (\(trace.name))", host: trace.host, path: trace.path) }
        let source = try CatalogTraceSource(store: self, trace: trace)
        return ResolvedTrace(location: TraceLocation(description: source.name, source: { source }), catalogued: trace, catalogSource: source)
    }
}

extension ResolvedTrace {
    /// The local file, for what reads files only (export); throws saying how to get one.
    public func localPath() throws -> String {
        if let path = location.filePath { return path }
        let id = catalogued.map { "\($0.id)" } ?? "TRACE"
        throw CatalogError.database("\(location) is in the catalog, not in a file here; `vqtrace traces pull \(id) --out FILE.vqt` writes one")
    }
}
