import Foundation
import Units

/// What `vqtrace traces show` says of a trace: the header's facts and one pass's summary, as
/// lines for people and as JSON for programs.
public struct TraceOverview: Encodable, Sendable {
    struct DeviceFacts: Encodable {
        var name: String, capacity_sectors: UInt64, logical_block_size: UInt32, num_queues: UInt16, queue_size: UInt16
    }
    struct Source: Encodable { var kind: String, name: String, parameters: [String: String] }
    struct Host: Encodable { var hostname: String, kernel: String, cpu: String, cpus: Int }
    struct Latency: Encodable {
        var p50: UInt64, p99: UInt64, p999: UInt64
        enum CodingKeys: String, CodingKey { case p50, p99, p999 = "p99.9" }
    }
    struct Damage: Encodable { var chunk: Int, records_lost: UInt64, problem: String }

    var path: String
    var format_version: String
    var complete: Bool
    var recovery: String?
    var records: UInt64
    var duration_ns: UInt64
    var file_bytes: UInt64
    var bytes_per_request: Double
    var mix: [String: UInt64]
    var bytes_read: UInt64
    var bytes_written: UInt64
    var requests_per_vq: [String: UInt64]
    var damaged_chunks: [Damage]
    var size_histogram: [String: UInt64]
    var timeline_bucket_ns: UInt64
    var timeline: [UInt64]
    var source: Source
    var created_at: String?
    var host: Host
    var devices: [DeviceFacts]
    var chunks: Int
    var latency_ns: Latency?

    let summary: TraceSummary
    let metadata: TraceMetadata
    let totalRecords: UInt64

    enum CodingKeys: String, CodingKey {
        case path, format_version, complete, recovery, records, duration_ns, file_bytes, bytes_per_request, mix, bytes_read, bytes_written
        case requests_per_vq, damaged_chunks, size_histogram, timeline_bucket_ns, timeline, source, created_at, host, devices, chunks, latency_ns
    }

    static let mixNames = ["read", "write", "flush", "other"]

    /// Reads the trace once (damaged chunks are left out and listed).
    public init(reader: TraceReader) throws {
        let summary = try TraceSummary(reader: reader)
        let m = reader.metadata
        self.summary = summary
        metadata = m
        totalRecords = reader.totals.records
        path = reader.path
        format_version = "\(reader.majorVersion).\(reader.minorVersion)"
        complete = reader.isComplete
        recovery = reader.recovery
        records = summary.records
        duration_ns = summary.durationNs
        file_bytes = reader.fileSize
        bytes_per_request = summary.records > 0 ? Double(reader.fileSize) / Double(summary.records) : 0
        mix = Dictionary(uniqueKeysWithValues: zip(Self.mixNames, summary.mix))
        bytes_read = summary.bytesRead
        bytes_written = summary.bytesWritten
        requests_per_vq = Dictionary(uniqueKeysWithValues: summary.perQueue.map { ($0.queue.description, $0.requests) })
        damaged_chunks = summary.damagedChunks.map { Damage(chunk: $0.index, records_lost: $0.records, problem: $0.error.description) }
        size_histogram = Dictionary(uniqueKeysWithValues: summary.sizeHistogram.enumerated().filter { $0.element > 0 }.map { ("\(1 << $0.offset)", $0.element) })
        timeline_bucket_ns = summary.timelineBucketNs
        timeline = summary.timeline
        source = Source(kind: m.source.kind, name: m.source.name, parameters: m.source.parameters)
        created_at = m.creationTime
        host = Host(hostname: m.host.hostname, kernel: m.host.kernel, cpu: m.host.cpuModel, cpus: m.host.onlineCPUs)
        devices = m.devices.map { DeviceFacts(name: $0.name, capacity_sectors: $0.capacitySectors, logical_block_size: $0.logicalBlockSize,
                                              num_queues: $0.numQueues, queue_size: $0.queueSize) }
        chunks = reader.chunks.count
        latency_ns = summary.latencyPercentilesNs.map { Latency(p50: $0[0], p99: $0[1], p999: $0[2]) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(format_version, forKey: .format_version)
        try c.encode(complete, forKey: .complete)
        try c.encodeIfPresent(recovery, forKey: .recovery)
        try c.encode(records, forKey: .records)
        try c.encode(duration_ns, forKey: .duration_ns)
        try c.encode(file_bytes, forKey: .file_bytes)
        try c.encode(bytes_per_request, forKey: .bytes_per_request)
        try c.encode(mix, forKey: .mix)
        try c.encode(bytes_read, forKey: .bytes_read)
        try c.encode(bytes_written, forKey: .bytes_written)
        try c.encode(requests_per_vq, forKey: .requests_per_vq)
        try c.encode(damaged_chunks, forKey: .damaged_chunks)
        try c.encode(size_histogram, forKey: .size_histogram)
        try c.encode(timeline_bucket_ns, forKey: .timeline_bucket_ns)
        try c.encode(timeline, forKey: .timeline)
        try c.encode(source, forKey: .source)
        try c.encode(created_at, forKey: .created_at)  // null for generated traces
        try c.encode(host, forKey: .host)
        try c.encode(devices, forKey: .devices)
        try c.encode(chunks, forKey: .chunks)
        try c.encodeIfPresent(latency_ns, forKey: .latency_ns)
    }

    /// The overview for a terminal.
    public var lines: [String] {
        let m = metadata
        var lines = ["trace \(path)", "  format \(format_version), \(complete ? "complete" : "RECOVERED: \(recovery ?? "")")"]
        lines.append("  source \(m.source.kind): \(m.source.name)"
                     + (m.source.parameters.isEmpty ? "" : " " + m.source.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
        lines.append("  \(m.creationTime.map { "created \($0)" } ?? "generated (no creation time: the same seed gives the same bytes)") on \(m.host.hostname) "
                     + "(\(m.host.cpuModel), \(m.host.onlineCPUs) CPUs, Linux \(m.host.kernel))")
        if let lost = DamagedChunk.summary(summary.damagedChunks, of: totalRecords) {
            lines.append("  DAMAGED: \(lost); the figures below leave them out (details: vqtrace traces verify)")
        }
        for (i, d) in m.devices.enumerated() {
            lines.append("  device \(i) \(d.name): \(TextFormat.bytes(d.capacitySectors * 512)), blk_size \(d.logicalBlockSize), \(d.numQueues) queues of \(d.queueSize)")
        }
        let seconds = Double(summary.durationNs) / 1e9
        lines.append("  \(summary.records) requests over \(TextFormat.duration(summary.durationNs))" + (seconds > 0 ? String(format: ", %.0f IOPS mean", Double(summary.records) / seconds) : ""))
        lines.append("  file \(TextFormat.bytes(file_bytes)) in \(chunks) chunks" + (summary.records > 0 ? String(format: ", %.2f bytes per request", bytes_per_request) : ""))
        let total = Double(max(summary.records, 1))
        lines.append("  mix    " + zip(Self.mixNames, summary.mix).map { String(format: "%@ %.1f%%", $0.0, Double($0.1) * 100 / total) }.joined(separator: "  ")
                     + "   (read \(TextFormat.bytes(summary.bytesRead)), written \(TextFormat.bytes(summary.bytesWritten)))")
        lines.append("  per vq " + summary.perQueue.map { "\($0.queue) \($0.requests)" }.joined(separator: "  "))
        lines.append("  sizes  " + summary.sizeHistogram.enumerated().filter { $0.element > 0 }
            .map { String(format: "%@ %.1f%%", TextFormat.bytes(UInt64(1) << UInt64($0.offset)), Double($0.element) * 100 / total) }.joined(separator: "  "))
        if let p = summary.latencyPercentilesNs {
            lines.append("  latency p50 \(TextFormat.duration(p[0]))  p99 \(TextFormat.duration(p[1]))  p99.9 \(TextFormat.duration(p[2]))")
        }
        let peak = Int(Double(summary.timeline.max() ?? 0) / (Double(summary.timelineBucketNs) / 1e9))
        lines.append("  IOPS over time (\(TextFormat.duration(summary.timelineBucketNs)) per bar, peak \(peak) IOPS):")
        lines.append("  \(summary.sparkline)")
        return lines
    }

    /// Every chunk of `reader`: offset, bytes, records, time range, queues.
    public static func chunkTable(_ reader: TraceReader) throws -> String {
        var rows = [["chunk", "offset", "bytes", "records", "first submit", "last submit", "queues"]]
        for (i, c) in reader.chunks.enumerated() {
            rows.append(["\(i)", "\(c.offset)", "\(c.length)", "\(c.recordCount)", TextFormat.duration(c.firstSubmitNs),
                         TextFormat.duration(c.lastSubmitNs), QueueSetText.format(try reader.queueSet(ofChunk: i))])
        }
        var table = TextFormat.table(rows, rightAligned: [0, 1, 2, 3, 4, 5], indent: "  ")
        table.removeLast()
        return table
    }
}

extension TraceVerification: Encodable {
    enum CodingKeys: String, CodingKey {
        case path, clean, goodChunks = "good_chunks", readableRecords = "readable_records", badChunks = "bad_chunks"
        case trailerProblem = "trailer_problem", tailProblem = "tail_problem"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(isClean, forKey: .clean)
        try c.encode(chunksGood, forKey: .goodChunks)
        try c.encode(recordsReadable, forKey: .readableRecords)
        try c.encode(badChunks, forKey: .badChunks)
        try c.encode(trailerProblem, forKey: .trailerProblem)
        try c.encode(tailProblem, forKey: .tailProblem)
    }

    /// The verdict for a terminal: OK or DAMAGED, and each problem with its place.
    public var lines: [String] {
        var lines = ["\(path): \(isClean ? "OK" : "DAMAGED")", "  \(chunksGood) good chunks, \(recordsReadable) records readable"]
        for b in badChunks { lines.append("  bad chunk \(b.index) at byte \(b.offset): \(b.problem)" + (b.recordsLost.map { " (\($0) records lost)" } ?? "")) }
        if let t = trailerProblem { lines.append("  trailer: \(t)") }
        if let t = tailProblem { lines.append("  tail: \(t)") }
        return lines
    }
}

extension TraceVerification.BadChunk: Encodable {
    enum CodingKeys: String, CodingKey { case index = "chunk", offset, problem, recordsLost = "records_lost" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(offset, forKey: .offset)
        try c.encode(problem, forKey: .problem)
        try c.encodeIfPresent(recordsLost, forKey: .recordsLost)
    }
}
