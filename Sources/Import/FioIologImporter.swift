import Foundation
import Trace

/// fio's iolog, versions 2 and 3, into per-vq request streams.
///
/// v3 lines: `TIMESTAMP FILE ACTION [OFFSET LENGTH]` with µs timestamps; v2 lines:
/// `FILE ACTION [OFFSET LENGTH]`, where `wait` actions carry the µs to wait before the next
/// request. Actions: read, write, trim (→ discard), sync and datasync (→ flush); add, open and
/// close manage files. Each file becomes a device; requests go to vqs round-robin or by a hash
/// of their offset.
public struct FioIologImporter {
    public enum VQMap: String, Sendable, CaseIterable { case roundRobin = "round-robin", hash }

    public var queues: Int = 1
    public var vqMap: VQMap = .roundRobin
    /// Capacity of every device; when nil, the largest offset + length seen, rounded up to 1 MiB.
    public var capacityBytes: UInt64?
    /// Keep going past bad lines (counted) instead of stopping at the first.
    public var skipBadLines = false

    public init() {}

    public struct Result: Sendable {
        public var totals: TraceTotals
        public var lines: Int
        public var skippedLines: Int
        public var files: [String]
    }

    /// Reads `path` twice: once for the files and capacity, once for the requests, written to `out`.
    public func run(path: String, out: String) throws -> Result {
        // Pass 1: version, files, capacity.
        var files: [String] = []
        var version = 0
        var maxEnd: UInt64 = 0
        var parts: [UnsafeRawBufferPointer] = []
        try LineReader(path: path).forEachLine { line, number in
            if number == 1 {
                let header = String(decoding: line, as: UTF8.self)
                if header.hasPrefix("fio version 2 iolog") { version = 2 } else if header.hasPrefix("fio version 3 iolog") { version = 3 } else {
                    throw ImportError(path: path, line: 1, problem: "not a fio iolog: the first line must be \"fio version 2 iolog\" or \"fio version 3 iolog\"")
                }
                return
            }
            fields(line, into: &parts)
            let base = version == 3 ? 1 : 0
            guard parts.count >= base + 2 else { return }
            let name = String(decoding: parts[base], as: UTF8.self)
            if !files.contains(name) && !equals(parts[base + 1], "wait") { files.append(name) }
            if parts.count >= base + 4, let offset = decimal(parts[base + 2]), let length = decimal(parts[base + 3]) {
                maxEnd = max(maxEnd, offset &+ length)
            }
        }
        guard !files.isEmpty else { throw ImportError(path: path, line: 0, problem: "no files and no requests") }
        let capacity = capacityBytes ?? max(1 << 20, (maxEnd + (1 << 20) - 1) / (1 << 20) * (1 << 20))
        let metadata = TraceMetadata(
            devices: files.enumerated().map { .init(name: "vd\(Character(UnicodeScalar(UInt8(97 + $0.offset % 26))))", capacitySectors: capacity / 512, numQueues: UInt16(queues)) },
            source: .init(kind: "import", name: "fio-iolog", parameters: ["file": path, "version": "\(version)", "files": files.joined(separator: ","),
                                                                           "vq_map": vqMap.rawValue, "queues": "\(queues)"]))
        let writer = try TraceWriter(path: out, metadata: metadata, options: .init(fsync: .close))
        var completed = false
        defer { if !completed { unlink(out) } }  // nothing half-written stays behind

        // Pass 2: the requests.
        var clockUs: UInt64 = 0
        var lastUs: UInt64 = 0
        var next = 0
        var skipped = 0
        var lines = 0
        try LineReader(path: path).forEachLine { line, number in
            lines = number
            guard number > 1 else { return }
            fields(line, into: &parts)
            if parts.isEmpty { return }
            func bad(_ problem: String) throws {
                if skipBadLines { skipped += 1 } else { throw ImportError(path: path, line: number, problem: problem) }
            }
            let base = version == 3 ? 1 : 0
            var us = clockUs
            if version == 3 {
                guard let t = decimal(parts[0]) else { return try bad("timestamp \"\(String(decoding: parts[0], as: UTF8.self))\" is not a number of µs") }
                us = t
            }
            guard parts.count >= base + 2 else { return try bad("expected FILE ACTION, found \(parts.count - base) fields") }
            let action = parts[base + 1]
            if version == 2 && equals(action, "wait") {
                guard parts.count >= 3, let wait = decimal(parts[2]) else { return try bad("wait needs a number of µs") }
                clockUs += wait
                return
            }
            if equals(action, "add") || equals(action, "open") || equals(action, "close") { return }
            let type: TraceRequestType
            if equals(action, "read") { type = .read }
            else if equals(action, "write") { type = .write }
            else if equals(action, "trim") { type = .discard }
            else if equals(action, "sync") || equals(action, "datasync") { type = .flush }
            else { return try bad("unknown action \"\(String(decoding: action, as: UTF8.self))\"") }
            if us < lastUs { return try bad("time \(us) µs is before the previous request's \(lastUs) µs") }
            var sector: UInt64 = 0
            var length: UInt64 = 0
            if type != .flush {
                guard parts.count >= base + 4, let offset = decimal(parts[base + 2]), let len = decimal(parts[base + 3]) else {
                    return try bad("\(String(decoding: action, as: UTF8.self)) needs OFFSET LENGTH")
                }
                guard offset % 512 == 0, len % 512 == 0, len > 0, len <= UInt64(UInt32.max) else {
                    return try bad("offset \(offset) and length \(len) must be non-zero multiples of 512")
                }
                guard offset + len <= capacity else { return try bad("offset \(offset) + \(len) runs past the capacity of \(capacity) bytes") }
                sector = offset / 512
                length = len
            }
            let name = String(decoding: parts[base], as: UTF8.self)
            let device = UInt16(files.firstIndex(of: name) ?? 0)
            let vq: UInt16
            switch vqMap {
            case .roundRobin:
                vq = UInt16(next % queues)
                next += 1
            case .hash:
                vq = UInt16((sector &* 0x9E37_79B9_7F4A_7C15) >> 40 % UInt64(queues))
            }
            lastUs = us
            try writer.append(TraceRecord(device: device, vq: vq % UInt16(queues), type: type, sector: sector, length: UInt32(length), submitNs: us * 1000))
        }
        let totals = try writer.finish()
        completed = true
        return Result(totals: totals, lines: lines, skippedLines: skipped, files: files)
    }
}
