import CZstd
import Foundation
import Trace
import Workload

/// Measures the .vqt codec on the OLTP model's stream (`OLTPSample`): bytes per request against
/// a zstd-compressed fio v3 iolog of the same requests, encode and decode rates on one core, and
/// the time to seek to a 1-second window of a large trace.
public struct TraceCodecBenchmark: Sendable {
    public struct SizeAndSpeed: Sendable {
        public var requests: Int
        public var withCompletions: Bool
        public var traceBytes: Int
        public var fioIologBytes: Int
        public var fioIologZstdBytes: Int
        public var encodeSeconds: Double
        public var decodeSeconds: Double
        public var iterateSeconds: Double
        /// Information in the random page offsets alone (log2 of the data area's pages, per random
        /// page request, spread over all requests): no lossless encoding of the stream can go below it.
        public var randomOffsetFloorBytesPerRequest: Double
        public var bytesPerRequest: Double { Double(traceBytes) / Double(requests) }
        public var ratioToFio: Double { Double(fioIologZstdBytes) / Double(traceBytes) }
    }

    public struct WindowSeek: Sendable {
        public var requests: Int
        public var traceBytes: UInt64
        public var chunks: Int
        public var writeSeconds: Double
        /// Open (header + trailer index), binary search, and read every record of the window.
        public var seekMilliseconds: [Double]
        public var recordsPerWindow: [Int]
        public var cursorBytes: Int
    }

    public let directory: String

    public init(directory: String) { self.directory = directory }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public func sizeAndSpeed(requests: Int, withCompletions: Bool, seed: UInt64) throws -> SizeAndSpeed {
        let sample = OLTPSample(requests: requests, seed: seed, completions: withCompletions)
        var records: [TraceRecord] = []
        records.reserveCapacity(requests)
        try sample.run { records.append($0) }
        // The users' page reads and the writer's page writes land anywhere in the data area (the
        // log is sequential and carries no such information).
        let model = sample.parameters
        let pages = Double(model.capacityBytes) * (1 - model.logFraction) / Double(model.pageBytes)
        let randomRequests = records.filter { $0.length == model.pageBytes && $0.vq != 0 }.count
        let floor = Double(randomRequests) * log2(pages) / 8 / Double(requests)
        let path = directory + "/bench-\(withCompletions ? "with" : "without")-completions.vqt"
        defer { unlink(path) }

        let start = Self.now()
        let writer = try TraceWriter(path: path, metadata: sample.metadata, options: .init(fsync: .none, replaceExisting: true))
        for record in records { try writer.append(record) }
        try writer.finish()
        let encodeSeconds = Self.now() - start
        let traceBytes = Int((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0)

        // Decode: every chunk into columns; then iterate records through a cursor.
        let reader = try TraceReader(path: path)
        let columns = RecordColumns(capacity: reader.chunks.map { Int($0.recordCount) }.max() ?? 1)
        var decoded = 0
        let decodeStart = Self.now()
        for i in 0..<reader.chunks.count {
            try reader.readChunk(i, into: columns)
            decoded += columns.count
        }
        let decodeSeconds = Self.now() - decodeStart
        precondition(decoded == requests, "decoded \(decoded) of \(requests) records")

        var cursor = reader.cursor()
        var checksum: UInt64 = 0
        var iterated = 0
        let iterateStart = Self.now()
        while let record = try cursor.next() {
            checksum &+= record.sector &+ record.submitNs
            iterated += 1
        }
        let iterateSeconds = Self.now() - iterateStart
        precondition(iterated == requests && checksum != 0)

        // The same requests as a fio v3 iolog, then zstd at the same level (3) and at 19.
        var iolog = "fio version 3 iolog\n/dev/vda add\n/dev/vda open\n"
        iolog.reserveCapacity(requests * 40)
        for record in records { iolog += Self.fioIologLine(record) + "\n" }
        iolog += "/dev/vda close\n"
        let text = Array(iolog.utf8)
        var compressed = [UInt8](repeating: 0, count: ZSTD_compressBound(text.count))
        let compressedSize = compressed.withUnsafeMutableBytes { out in
            text.withUnsafeBytes { ZSTD_compress(out.baseAddress, out.count, $0.baseAddress, $0.count, 3) }
        }
        precondition(ZSTD_isError(compressedSize) == 0)
        return SizeAndSpeed(
            requests: requests, withCompletions: withCompletions, traceBytes: traceBytes, fioIologBytes: text.count,
            fioIologZstdBytes: compressedSize, encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds,
            iterateSeconds: iterateSeconds, randomOffsetFloorBytesPerRequest: floor)
    }

    /// One request as a fio v3 iolog line on /dev/vda.
    static func fioIologLine(_ r: TraceRecord) -> String {
        let us = r.submitNs / 1000
        switch r.type {
        case .flush: return "\(us) /dev/vda sync 0 0"
        case .read: return "\(us) /dev/vda read \(r.sector * 512) \(r.length)"
        default: return "\(us) /dev/vda write \(r.sector * 512) \(r.length)"
        }
    }

    public func windowSeek(requests: Int, windows: Int, seed: UInt64) throws -> WindowSeek {
        let path = directory + "/bench-window.vqt"
        defer { unlink(path) }
        let sample = OLTPSample(requests: requests, seed: seed, completions: false)
        let start = Self.now()
        let writer = try TraceWriter(path: path, metadata: sample.metadata, options: .init(fsync: .none, replaceExisting: true))
        try sample.run { try writer.append($0) }
        let totals = try writer.finish()
        let writeSeconds = Self.now() - start

        var random = SystemRandomNumberGenerator()
        var seeks: [Double] = []
        var counts: [Int] = []
        var chunks = 0
        var cursorBytes = 0
        var fileSize: UInt64 = 0
        let span = totals.lastSubmitNs - totals.firstSubmitNs
        for _ in 0..<windows {
            let from = totals.firstSubmitNs + UInt64.random(in: 0..<max(span - 1_000_000_000, 1), using: &random)
            let t0 = Self.now()
            let reader = try TraceReader(path: path)
            var cursor = reader.cursor(from: from, to: from + 1_000_000_000)
            var n = 0
            while try cursor.next() != nil { n += 1 }
            seeks.append((Self.now() - t0) * 1000)
            counts.append(n)
            chunks = reader.chunks.count
            fileSize = reader.fileSize
            cursorBytes = reader.chunks.map { Int($0.recordCount) }.max()! * (8 * 3 + 4 * 3 + 1)
        }
        return WindowSeek(requests: requests, traceBytes: fileSize, chunks: chunks, writeSeconds: writeSeconds,
                          seekMilliseconds: seeks, recordsPerWindow: counts, cursorBytes: cursorBytes)
    }
}
