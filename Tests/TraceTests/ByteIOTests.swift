import Testing
import TestSupport
@testable import Trace

@Suite("Checksums and varints")
struct ByteIOTests {
    @Test("CRC-32C matches the standard check value and is the same in pieces")
    func crc() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)  // RFC 3720 B.4
        var rng = SplitMix64(state: 1)
        let data = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let a = CRC32C.checksum(Array(data[..<split]))
            #expect(CRC32C.checksum(Array(data[split...]), continuing: a) == CRC32C.checksum(data))
        }
    }

    @Test("varints round trip at every length boundary and for random values")
    func varints() throws {
        var values: [UInt64] = [0, 1, 127, 128, 16383, 16384, UInt64(UInt32.max), UInt64.max, UInt64.max - 1]
        for shift in 0..<64 { values.append(1 << UInt64(shift)); values.append((1 << UInt64(shift)) - 1) }
        var rng = SplitMix64(state: 2)
        for _ in 0..<2000 { values.append(rng.next() >> UInt64.random(in: 0...63, using: &rng)) }
        var w = ByteWriter()
        for v in values { w.varint(v) }
        let decoded: [UInt64] = try w.bytes.withUnsafeBytes { (raw) throws -> [UInt64] in
            var r = ByteReader(raw)
            var out: [UInt64] = []
            while r.remaining > 0 { out.append(try r.varint()) }
            return out
        }
        #expect(decoded == values)
    }

    @Test("a varint longer than 64 bits or cut short is an error, not a wrap")
    func badVarints() {
        let overlong: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]
        overlong.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(throws: ByteReadError.badVarint(offset: 0)) { try r.varint() }
        }
        ([0x80, 0x80] as [UInt8]).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(throws: ByteReadError.truncated(offset: 2, needed: 1)) { try r.varint() }
        }
    }
}
