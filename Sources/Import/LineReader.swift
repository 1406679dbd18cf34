import Foundation

/// Reads a text file line by line in 1 MiB blocks, with bounded memory whatever the file's
/// size, handing each line (without its newline) as bytes to the caller with its 1-based number.
struct LineReader {
    let path: String

    func forEachLine(_ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImportError(path: path, line: 0, problem: "cannot open for reading")
        }
        defer { try? handle.close() }
        var carry: [UInt8] = []
        var lineNumber = 0
        while true {
            let block = try handle.read(upToCount: 1 << 20) ?? Data()
            if block.isEmpty { break }
            try block.withUnsafeBytes { raw in
                var start = 0
                for i in 0..<raw.count where raw[i] == UInt8(ascii: "\n") {
                    lineNumber += 1
                    if carry.isEmpty {
                        try body(UnsafeRawBufferPointer(rebasing: raw[start..<i]), lineNumber)
                    } else {
                        carry.append(contentsOf: raw[start..<i])
                        try carry.withUnsafeBytes { try body($0, lineNumber) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = i + 1
                }
                carry.append(contentsOf: raw[start...])
            }
        }
        if !carry.isEmpty {
            lineNumber += 1
            try carry.withUnsafeBytes { try body($0, lineNumber) }
        }
    }
}

/// An import error that points at the line: `FILE:LINE: what is wrong`.
public struct ImportError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let line: Int
    public let problem: String
    public var description: String { line > 0 ? "\(path):\(line): \(problem)" : "\(path): \(problem)" }
}

/// Splits a line at spaces and tabs into at most `max` fields (bytes, no copies).
@inline(__always) func fields(_ line: UnsafeRawBufferPointer, into out: inout [UnsafeRawBufferPointer], max: Int = 8) {
    out.removeAll(keepingCapacity: true)
    var i = 0
    let n = line.count
    while i < n && out.count < max {
        while i < n && (line[i] == 32 || line[i] == 9 || line[i] == 13) { i += 1 }
        if i >= n { break }
        let start = i
        while i < n && line[i] != 32 && line[i] != 9 && line[i] != 13 { i += 1 }
        out.append(UnsafeRawBufferPointer(rebasing: line[start..<i]))
    }
}

/// A decimal unsigned integer, or nil.
@inline(__always) func decimal(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
    guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
    var value: UInt64 = 0
    for b in bytes {
        guard b >= 48 && b <= 57 else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(UInt64(b - 48))
        if o1 || o2 { return nil }
        value = a
    }
    return value
}

@inline(__always) func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
    guard bytes.count == text.utf8CodeUnitCount else { return false }
    return memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0
}
