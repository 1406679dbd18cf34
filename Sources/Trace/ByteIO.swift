/// Little-endian fixed-width integers and LEB128 varints, written into and read from byte
/// buffers. Readers check every bound and report a short buffer instead of trapping, because
/// their input is a file that may be truncated or corrupted.

/// An append-only byte buffer that keeps its storage between uses (no allocation per chunk once
/// it has grown to the working size).
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public var count: Int { bytes.count }
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    @inline(__always) public mutating func u8(_ v: UInt8) { bytes.append(v) }
    @inline(__always) public mutating func u16(_ v: UInt16) { u8(UInt8(truncatingIfNeeded: v)); u8(UInt8(truncatingIfNeeded: v >> 8)) }
    @inline(__always) public mutating func u32(_ v: UInt32) { u16(UInt16(truncatingIfNeeded: v)); u16(UInt16(truncatingIfNeeded: v >> 16)) }
    @inline(__always) public mutating func u64(_ v: UInt64) { u32(UInt32(truncatingIfNeeded: v)); u32(UInt32(truncatingIfNeeded: v >> 32)) }

    /// Unsigned LEB128: 7 bits per byte, low group first, high bit set on every byte but the last.
    @inline(__always) public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    public mutating func append<C: Collection>(contentsOf other: C) where C.Element == UInt8 {
        bytes.append(contentsOf: other)
    }

    /// Overwrites 4 bytes at `offset` (used to patch a length or checksum written earlier).
    public mutating func patchU32(_ v: UInt32, at offset: Int) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }
}

/// Why a byte reader stopped.
public enum ByteReadError: Error, Equatable, Sendable {
    /// The buffer ended at `offset` while `needed` more bytes were expected.
    case truncated(offset: Int, needed: Int)
    /// A varint at `offset` ran over 10 bytes or past 64 bits.
    case badVarint(offset: Int)
}

/// A bounds-checked cursor over bytes it does not own.
public struct ByteReader {
    public let base: UnsafeRawBufferPointer
    public private(set) var offset: Int

    public init(_ base: UnsafeRawBufferPointer, offset: Int = 0) {
        self.base = base
        self.offset = offset
    }

    public var remaining: Int { base.count - offset }

    @inline(__always) mutating func need(_ n: Int) throws(ByteReadError) {
        if n > base.count - offset { throw .truncated(offset: offset, needed: n - (base.count - offset)) }
    }

    @inline(__always) public mutating func u8() throws(ByteReadError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return base[offset]
    }

    @inline(__always) public mutating func u16() throws(ByteReadError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(base[offset]) | UInt16(base[offset + 1]) << 8
    }

    @inline(__always) public mutating func u32() throws(ByteReadError) -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return base.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
    }

    @inline(__always) public mutating func u64() throws(ByteReadError) -> UInt64 {
        try need(8)
        defer { offset += 8 }
        return base.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }

    @inline(__always) public mutating func varint() throws(ByteReadError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < base.count else { throw .truncated(offset: offset, needed: 1) }
            let byte = base[offset]
            offset += 1
            if shift == 63 && byte > 1 { throw .badVarint(offset: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw .badVarint(offset: start) }
        }
    }

    /// The next `count` bytes as a slice of the base buffer.
    public mutating func bytes(_ count: Int) throws(ByteReadError) -> UnsafeRawBufferPointer {
        guard count >= 0 else { throw .truncated(offset: offset, needed: count) }
        try need(count)
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<offset + count])
    }

    public mutating func skip(_ count: Int) throws(ByteReadError) { _ = try bytes(count) }
}
