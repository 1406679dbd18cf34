#if canImport(Glibc)
import Glibc
#endif

// Byte-level field helpers shared by the parsers: no Strings on the per-line path, so an import
// runs at millions of lines per second.

/// The fields of a line, as byte ranges into it (valid as long as the line is).
struct LineFields {
    private(set) var items: [UnsafeRawBufferPointer] = []
    init() { items.reserveCapacity(16) }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    subscript(i: Int) -> UnsafeRawBufferPointer { items[i] }

    /// Splits at runs of spaces and tabs, into at most `max` fields (the last one is not joined).
    mutating func splitWhitespace(_ line: UnsafeRawBufferPointer, max: Int = 16) {
        items.removeAll(keepingCapacity: true)
        var i = 0
        let n = line.count
        while i < n && items.count < max {
            while i < n && (line[i] == 0x20 || line[i] == 0x09) { i += 1 }
            if i >= n { break }
            let start = i
            while i < n && line[i] != 0x20 && line[i] != 0x09 { i += 1 }
            items.append(UnsafeRawBufferPointer(rebasing: line[start..<i]))
        }
    }

    /// Splits at every comma (CSV without quoting, as the public block traces are), trimming spaces.
    mutating func splitCommas(_ line: UnsafeRawBufferPointer, max: Int = 16) {
        items.removeAll(keepingCapacity: true)
        var start = 0
        var i = 0
        let n = line.count
        while i <= n && items.count < max {
            if i == n || line[i] == 0x2C {
                var a = start, b = i
                while a < b && line[a] == 0x20 { a += 1 }
                while b > a && line[b - 1] == 0x20 { b -= 1 }
                items.append(UnsafeRawBufferPointer(rebasing: line[a..<b]))
                start = i + 1
            }
            i += 1
        }
    }
}

extension LineFields {
    /// Whether every field is a column name (starts with a letter): a CSV header row.
    var areColumnNames: Bool {
        items.allSatisfy { field in
            guard let first = field.first else { return false }
            return (first | 0x20) >= UInt8(ascii: "a") && (first | 0x20) <= UInt8(ascii: "z")
        }
    }
}

/// A decimal unsigned integer, or nil (empty, a non-digit, or more than 64 bits).
@inline(__always) func decimal(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
    guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
    var value: UInt64 = 0
    for b in bytes {
        guard b >= 0x30 && b <= 0x39 else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(UInt64(b - 0x30))
        if o1 || o2 { return nil }
        value = a
    }
    return value
}

/// A decimal signed integer (`-5`, `0`), or nil.
@inline(__always) func signedDecimal(_ bytes: UnsafeRawBufferPointer) -> Int64? {
    if let first = bytes.first, first == 0x2D {
        guard let magnitude = decimal(UnsafeRawBufferPointer(rebasing: bytes[1...])), magnitude <= UInt64(Int64.max) else { return nil }
        return -Int64(magnitude)
    }
    guard let value = decimal(bytes), value <= UInt64(Int64.max) else { return nil }
    return Int64(value)
}

/// A non-negative decimal time such as `12`, `0.000317024` or `1538323200.5` in a unit of
/// `unitNs` nanoseconds, converted to nanoseconds (fraction digits beyond 1 ns are dropped), or nil.
@inline(__always) func scaledTime(_ bytes: UnsafeRawBufferPointer, unitNs: UInt64) -> UInt64? {
    guard !bytes.isEmpty else { return nil }
    var dot = bytes.count
    for i in 0..<bytes.count where bytes[i] == 0x2E { dot = i; break }
    let whole: UInt64
    if dot == 0 { whole = 0 } else {
        guard let w = decimal(UnsafeRawBufferPointer(rebasing: bytes[0..<dot])) else { return nil }
        whole = w
    }
    let (base, overflow) = whole.multipliedReportingOverflow(by: unitNs)
    if overflow { return nil }
    guard dot < bytes.count else { return base }
    // The fraction: at most 18 digits are kept, enough for any unit down to 1 ns.
    var fraction: UInt64 = 0
    var scale: UInt64 = 1
    for i in (dot + 1)..<bytes.count {
        let b = bytes[i]
        guard b >= 0x30 && b <= 0x39 else { return nil }
        if scale < 1_000_000_000_000_000_000 {
            fraction = fraction * 10 + UInt64(b - 0x30)
            scale *= 10
        }
    }
    if dot + 1 == bytes.count && dot == 0 { return nil }  // "."
    // fraction/scale of a unit, in ns: exact in 128 bits.
    let product = fraction.multipliedFullWidth(by: unitNs)
    let (ns, _) = scale.dividingFullWidth((product.high, product.low))
    let (sum, o) = base.addingReportingOverflow(ns)
    return o ? nil : sum
}

@inline(__always) func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
    guard bytes.count == text.utf8CodeUnitCount else { return false }
    return bytes.count == 0 || memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0
}

/// The bytes as text, for messages and device names (invalid UTF-8 is replaced, never trusted).
@inline(__always) func text(_ bytes: UnsafeRawBufferPointer) -> String {
    String(decoding: bytes.prefix(200), as: UTF8.self)
}
