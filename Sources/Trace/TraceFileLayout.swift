/// Constants and fixed-size structures of the .vqt file, as docs/FORMAT.md describes them byte
/// by byte. All integers are little-endian.
public enum TraceFormat {
    /// Bumped when a reader of the previous major version could not read the file correctly.
    public static let majorVersion: UInt16 = 1
    /// Bumped for additions a reader of the same major version may skip (see docs/FORMAT.md).
    public static let minorVersion: UInt16 = 0

    static let fileMagic: [UInt8] = Array("VQTRACE\0".utf8)
    static let chunkMagic: UInt32 = 0x4B43_5156  // "VQCK"
    static let trailerMagic: UInt32 = 0x4954_5156  // "VQTI"
    static let footerMagic: [UInt8] = Array("VQTEND\0\0".utf8)

    /// Fixed part of the file header before the metadata JSON.
    static let headerFixedSize = 24
    static let chunkHeaderSize = 64
    static let footerSize = 24
    static let trailerFixedSize = 4 + 4 + 8 * 7
    static let trailerEntrySize = 32

    /// Upper bounds a reader enforces before it allocates anything a file asks for.
    public static let maxChunkRecords = 1 << 20
    static let maxChunkBytes = 64 << 20
    static let maxMetadataBytes = 1 << 20
}

/// The fixed 64-byte header in front of every chunk.
struct ChunkHeader: Equatable {
    var index: UInt32
    var recordCount: UInt32
    var queueSetLength: UInt32
    var payloadLength: UInt32
    var rawLength: UInt32
    var firstSubmitNs: UInt64
    var lastSubmitNs: UInt64
    /// Records per `TraceRequestType.MixClass`: read, write, flush, other.
    var mix: (UInt32, UInt32, UInt32, UInt32)
    /// CRC-32C of the queue set and payload bytes that follow the header.
    var bodyCRC: UInt32

    /// Header, queue set and payload together.
    var totalLength: Int { TraceFormat.chunkHeaderSize + Int(queueSetLength) + Int(payloadLength) }

    static func == (a: ChunkHeader, b: ChunkHeader) -> Bool {
        a.index == b.index && a.recordCount == b.recordCount && a.queueSetLength == b.queueSetLength
            && a.payloadLength == b.payloadLength && a.rawLength == b.rawLength
            && a.firstSubmitNs == b.firstSubmitNs && a.lastSubmitNs == b.lastSubmitNs
            && a.mix == b.mix && a.bodyCRC == b.bodyCRC
    }

    func write(into w: inout ByteWriter) {
        let start = w.count
        w.u32(TraceFormat.chunkMagic)
        w.u32(index)
        w.u32(recordCount)
        w.u32(queueSetLength)
        w.u32(payloadLength)
        w.u32(rawLength)
        w.u64(firstSubmitNs)
        w.u64(lastSubmitNs)
        w.u32(mix.0)
        w.u32(mix.1)
        w.u32(mix.2)
        w.u32(mix.3)
        w.u32(bodyCRC)
        let crc = w.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<start + 60])) }
        w.u32(crc)
        assert(w.count - start == TraceFormat.chunkHeaderSize)
    }

    /// Parses and checks a header; the error string says what is wrong.
    static func read(_ bytes: UnsafeRawBufferPointer) -> Result<ChunkHeader, ChunkHeaderProblem> {
        guard bytes.count >= TraceFormat.chunkHeaderSize else { return .failure(.truncated(have: bytes.count)) }
        var r = ByteReader(bytes)
        do {
            let magic = try r.u32()
            guard magic == TraceFormat.chunkMagic else { return .failure(.badMagic(magic)) }
            let storedCRC = bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self).littleEndian
            let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))
            guard storedCRC == computed else { return .failure(.checksum(stored: storedCRC, computed: computed)) }
            let header = ChunkHeader(
                index: try r.u32(), recordCount: try r.u32(), queueSetLength: try r.u32(),
                payloadLength: try r.u32(), rawLength: try r.u32(), firstSubmitNs: try r.u64(),
                lastSubmitNs: try r.u64(), mix: (try r.u32(), try r.u32(), try r.u32(), try r.u32()),
                bodyCRC: try r.u32())
            if header.recordCount == 0 || Int(header.recordCount) > TraceFormat.maxChunkRecords {
                return .failure(.field("record count \(header.recordCount) outside 1...\(TraceFormat.maxChunkRecords)"))
            }
            if Int(header.rawLength) > TraceFormat.maxChunkBytes || Int(header.payloadLength) > TraceFormat.maxChunkBytes
                || Int(header.queueSetLength) > TraceFormat.maxChunkBytes
            {
                return .failure(.field("a length exceeds \(TraceFormat.maxChunkBytes) bytes"))
            }
            if header.lastSubmitNs < header.firstSubmitNs {
                return .failure(.field("last submit time \(header.lastSubmitNs) before first \(header.firstSubmitNs)"))
            }
            let mixTotal = UInt64(header.mix.0) + UInt64(header.mix.1) + UInt64(header.mix.2) + UInt64(header.mix.3)
            if mixTotal != UInt64(header.recordCount) {
                return .failure(.field("per-type counts add up to \(mixTotal), record count is \(header.recordCount)"))
            }
            return .success(header)
        } catch {
            return .failure(.truncated(have: bytes.count))
        }
    }
}

/// What is wrong with a chunk header.
enum ChunkHeaderProblem: Error, CustomStringConvertible {
    case truncated(have: Int)
    case badMagic(UInt32)
    case checksum(stored: UInt32, computed: UInt32)
    case field(String)

    var description: String {
        switch self {
        case .truncated(let have): return "chunk header cut short: \(have) of \(TraceFormat.chunkHeaderSize) bytes"
        case .badMagic(let m): return "no chunk magic \"VQCK\" (found 0x\(String(m, radix: 16)))"
        case .checksum(let s, let c):
            return "chunk header checksum mismatch (stored 0x\(String(s, radix: 16)), computed 0x\(String(c, radix: 16)))"
        case .field(let what): return "chunk header: \(what)"
        }
    }
}

/// One chunk as the trailer index (or a recovery scan) lists it.
public struct ChunkIndexEntry: Equatable, Sendable {
    /// Byte offset of the chunk header in the file.
    public var offset: UInt64
    /// Header, queue set and payload.
    public var length: UInt32
    public var recordCount: UInt32
    public var firstSubmitNs: UInt64
    public var lastSubmitNs: UInt64
}

/// Totals over a whole trace, kept in the trailer (and recomputed by a recovery scan).
public struct TraceTotals: Equatable, Sendable {
    public var records: UInt64 = 0
    /// Records per `TraceRequestType.MixClass`: read, write, flush, other.
    public var mix: [UInt64] = [0, 0, 0, 0]
    public var firstSubmitNs: UInt64 = 0
    public var lastSubmitNs: UInt64 = 0

    public init() {}
}
