import CZstd

/// A zstd failure, with zstd's own explanation.
public struct ZstdError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ code: Int) { description = String(cString: ZSTD_getErrorName(code)) }
    init(message: String) { description = message }
}

/// zstd compression and decompression with contexts kept across chunks, so that a long trace
/// costs one context allocation, not one per chunk. Not thread-safe: one per writer or reader.
public final class ZstdCodec {
    private let cctx: OpaquePointer
    private let dctx: OpaquePointer
    public let level: Int32

    public init(level: Int32 = 3) {
        precondition(level >= 1 && level <= 19, "zstd level must be 1...19")
        guard let c = ZSTD_createCCtx(), let d = ZSTD_createDCtx() else {
            fatalError("zstd: out of memory creating a context")
        }
        cctx = c
        dctx = d
        self.level = level
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        ZSTD_freeDCtx(dctx)
    }

    /// Compresses `input` and appends the frame to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(ZstdError) {
        let start = output.count
        let bound = ZSTD_compressBound(input.count)
        output.append(contentsOf: repeatElement(0, count: bound))
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_compressCCtx(cctx, out.baseAddress! + start, bound, input.baseAddress, input.count, level)
        }
        if ZSTD_isError(written) != 0 {
            output.removeLast(bound)
            throw ZstdError(written)
        }
        output.removeLast(bound - written)
    }

    /// Decompresses one frame into `output`, which must be exactly the expected size: a frame that
    /// decodes to any other size is an error.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ZstdError) {
        let produced = ZSTD_decompressDCtx(dctx, output.baseAddress, output.count, input.baseAddress, input.count)
        if ZSTD_isError(produced) != 0 { throw ZstdError(produced) }
        if produced != output.count {
            throw ZstdError(message: "frame decoded to \(produced) bytes, header says \(output.count)")
        }
    }
}
