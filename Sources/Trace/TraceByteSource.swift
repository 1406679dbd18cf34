#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// Where a trace's bytes come from: a local .vqt file, or a copy somewhere else (a shared
/// catalog that holds the file's chunks as rows). `TraceReader` reads through this and nothing
/// else, so a reader of a catalogued trace fetches only the byte ranges it asks for, the header,
/// the trailer and the chunks of the window it reads.
///
/// A source is used by one reader at a time, but several readers of one trace may share what a
/// source fetched (a catalog source caches chunks), so implementations are thread-safe.
public protocol TraceByteSource: AnyObject, Sendable {
    /// For errors and for people: a file path, or where in which catalog the trace lives.
    var name: String { get }
    /// The size of the file the bytes are (or were) in.
    var size: UInt64 { get }
    /// Copies exactly `count` bytes at `offset` into `buffer` (which holds at least `count`);
    /// throws naming `part` and the offset where the bytes cannot be had.
    func read(offset: UInt64, count: Int, into buffer: UnsafeMutableRawBufferPointer, part: TraceFileError.Part) throws(TraceFileError)
}

/// A .vqt file on this machine, read with pread.
public final class TraceFileSource: TraceByteSource {
    public let name: String
    public let size: UInt64
    /// The open file; closed with the source, or when `init` fails.
    private let descriptor: OwnedDescriptor
    var fd: Int32 { descriptor.rawValue }

    /// Opens `path` for reading.
    public init(path: String) throws(TraceFileError) {
        name = path
        do throws(SystemCallError) {
            descriptor = try OwnedDescriptor.open(path, flags: O_RDONLY | O_CLOEXEC)
        } catch {
            throw TraceFileError(path: path, part: .file, offset: 0, problem: "cannot open: \(error.errno) (errno \(error.errno.rawValue))", cause: error)
        }
        var st = stat()
        fstat(descriptor.rawValue, &st)
        size = UInt64(st.st_size)
    }

    public func read(offset: UInt64, count: Int, into buffer: UnsafeMutableRawBufferPointer, part: TraceFileError.Part) throws(TraceFileError) {
        var done = 0
        while done < count {
            let n = Glibc.pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                let error = SystemCallError.last("pread", path: name)
                throw TraceFileError(path: name, part: part, offset: offset + UInt64(done),
                                     problem: "read failed: \(error.errno) (errno \(error.errno.rawValue))", cause: error)
            }
            if n == 0 {
                throw TraceFileError(path: name, part: part, offset: offset + UInt64(done), problem: "file ends \(count - done) bytes early")
            }
            done += n
        }
    }
}

/// Which trace a command reads and how to open it: a file, or any other `TraceByteSource`.
/// Replays and sweeps take one, so that the same code reads a local file or a trace that only
/// a shared catalog holds.
public struct TraceLocation: Sendable, CustomStringConvertible {
    /// The file path, or the catalog and trace the bytes come from; runs store it as their trace path.
    public let description: String
    /// The local file, when it is one.
    public let filePath: String?
    private let makeSource: @Sendable () throws -> any TraceByteSource

    /// A trace read from bytes `makeSource` opens (called once per reader).
    public init(description: String, source makeSource: @escaping @Sendable () throws -> any TraceByteSource) {
        self.description = description
        self.filePath = nil
        self.makeSource = makeSource
    }

    private init(file path: String) {
        description = path
        filePath = path
        makeSource = { try TraceFileSource(path: path) }
    }

    /// The .vqt file at `path`.
    public static func file(_ path: String) -> TraceLocation { TraceLocation(file: path) }

    /// A reader of the trace (header and index read; chunks on demand).
    public func open() throws -> TraceReader { try TraceReader(source: makeSource()) }
}

extension TraceReader {
    /// `count` bytes at `offset` as they are in the file (a push copies the header, each chunk
    /// and the trailer this way, so that a pull rebuilds the file byte for byte).
    public func rawBytes(offset: UInt64, count: Int) throws(TraceFileError) -> [UInt8] {
        Array(try Self.pread(source, &buffer, offset: offset, count: count, part: .file))
    }

    /// The chunks of `range` that cannot be read (checksums, columns), each with its error: what
    /// a run over those chunks would skip. Reads only those chunks, so a sweep of a window of a
    /// trace held by a catalog fetches that window and nothing else.
    public func damagedChunks(in range: Range<Int>) -> [DamagedChunk] {
        let largest = chunks[range].map { Int($0.recordCount) }.max() ?? 1
        let columns = RecordColumns(capacity: max(largest, 1))
        var damaged: [DamagedChunk] = []
        for i in range {
            do { try readChunk(i, into: columns) } catch {
                let entry = chunks[i]
                damaged.append(DamagedChunk(index: i, records: UInt64(entry.recordCount), firstSubmitNs: entry.firstSubmitNs,
                                            lastSubmitNs: entry.lastSubmitNs, error: error))
            }
        }
        return damaged
    }
}
