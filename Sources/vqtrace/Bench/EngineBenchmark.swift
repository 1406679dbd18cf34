import BlockBackend
import Engine
import Foundation
import Histogram
import Layout

/// Runs the engine on a pattern and formats the result as a table or as fio-shaped JSON.
struct EngineBenchmark {
    var target: String?
    var sizeBytes: UInt64
    var backend: BackendKind
    var vqs: Int
    var layoutSpec: String
    var rw: IOPatternKind
    var blockSize: Int
    var depth: Int
    var rwmixread: Int
    var seconds: Double
    var pin: PinPolicy
    var pollCompletions: Bool
    var merge: Bool
    var seed: UInt64
    var deviceSafety: DeviceSafety? = nil
    var fillProgress: TargetFill.ProgressHandler? = nil

    func run() throws -> (layout: IOThreadLayout, result: EngineResult) {
        let layout = try LayoutSpec.parse(layoutSpec, numQueues: vqs)
        let config = VirtioBlkDeviceConfig(numQueues: vqs, queueSize: max(256, depth), capacitySectors: sizeBytes / 512)
        var job = EngineJob(devices: [config], layout: layout, backend: backend, target: target, depth: depth, maxBlock: blockSize,
                            duration: seconds, pin: pin, pollForCompletions: pollCompletions)
        job.mergeRequests = merge
        job.writes = rw != .read && rw != .randread
        job.deviceSafety = deviceSafety
        job.fillProgress = fillProgress
        let result = try Engine.run(job) { _, vq in
            IOPattern(kind: rw, blockSize: blockSize, regionBytes: sizeBytes, readPercent: rwmixread, seed: seed, queue: vq, queues: vqs)
        }
        return (layout, result)
    }

    static func merged(_ queues: [QueueStatistics], read: Bool) -> Histogram<UInt64> {
        var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for q in queues { h.add(read ? q.readLatency : q.writeLatency) }
        return h
    }

    /// fio's `jobs[0].read` / `.write` object for the numbers both tools have.
    static func fioDirection(_ queues: [QueueStatistics], read: Bool, seconds: Double) -> [String: Any] {
        let ios = queues.reduce(0) { $0 + (read ? $1.reads : $1.writes) }
        let bytes = queues.reduce(0) { $0 + (read ? $1.bytesRead : $1.bytesWritten) }
        let h = merged(queues, read: read)
        var percentiles: [String: UInt64] = [:]
        for p in [1.0, 5, 10, 50, 90, 95, 99, 99.5, 99.9, 99.99] where ios > 0 {
            percentiles[String(format: "%.6f", p)] = h.valueAtPercentile(p)
        }
        return [
            "io_bytes": bytes, "bw_bytes": Double(bytes) / seconds, "iops": Double(ios) / seconds, "total_ios": ios,
            "clat_ns": ["min": ios > 0 ? h.min : 0, "max": ios > 0 ? h.max : 0, "mean": ios > 0 ? h.mean : 0,
                        "stddev": ios > 0 ? h.stdDeviation : 0, "N": ios, "percentile": percentiles],
        ]
    }

    static func iothreadsJSON(_ iothreads: [IOThreadStatistics]) -> [[String: Any]] {
        iothreads.map { t in
            ["name": t.name, "cpus": t.cpus, "requests": t.requests, "passes": t.passes, "mean_batch": t.meanBatch, "kicks": t.kicks,
             "notifications": t.notifications, "merged": t.merged, "fixed_buffer_requests": t.fixedBufferRequests,
             "resubmissions": t.resubmissions, "poll_hits": t.pollHits, "poll_misses": t.pollMisses, "sleeps": t.sleeps,
             "cpu_percent": t.cpuPercent]
        }
    }

    static func queuesJSON(_ queues: [QueueStatistics]) -> [[String: Any]] {
        queues.map { q in
            ["device": q.device, "vq": q.vq, "requests": q.requests, "bytes": q.bytesRead + q.bytesWritten, "errors": q.errors,
             "kicks": q.kicks, "interrupts": q.interrupts,
             "clat_ns_p50": q.reads > 0 ? q.readLatency.valueAtPercentile(50) : q.writeLatency.valueAtPercentile(50),
             "clat_ns_p99": q.reads > 0 ? q.readLatency.valueAtPercentile(99) : q.writeLatency.valueAtPercentile(99)]
        }
    }

    /// What each IOThread did, as an indented table.
    static func iothreadTable(_ iothreads: [IOThreadStatistics]) -> String {
        var rows = [["IOThread", "CPUs", "requests", "passes", "batch", "merged", "kicks", "notifies", "poll hit/miss", "sleeps", "CPU %"]]
        for t in iothreads {
            rows.append([t.name, t.cpus.isEmpty ? "-" : t.cpus.map(String.init).joined(separator: ","), "\(t.requests)", "\(t.passes)",
                         String(format: "%.1f", t.meanBatch), "\(t.merged)", "\(t.kicks)", "\(t.notifications)", "\(t.pollHits)/\(t.pollMisses)",
                         "\(t.sleeps)", String(format: "%.0f", t.cpuPercent)])
        }
        return Format.table(rows, rightAligned: Set(2..<11)).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
    }

    /// "read: N IOPS, B/s, clat p50 … p99 … p99.9 …" lines for the directions that saw requests.
    static func summaryLines(_ queues: [QueueStatistics], seconds: Double) -> [String] {
        var lines: [String] = []
        for read in [true, false] {
            let ios = queues.reduce(0) { $0 + (read ? $1.reads : $1.writes) }
            guard ios > 0 else { continue }
            let bytes = queues.reduce(0) { $0 + (read ? $1.bytesRead : $1.bytesWritten) }
            let h = merged(queues, read: read)
            lines.append(String(format: "  %@: %.0f IOPS, %@/s, clat p50 %@  p99 %@  p99.9 %@", read ? "read " : "write", Double(ios) / seconds,
                                Format.bytes(UInt64(Double(bytes) / seconds)), Format.duration(h.valueAtPercentile(50)),
                                Format.duration(h.valueAtPercentile(99)), Format.duration(h.valueAtPercentile(99.9))))
        }
        return lines
    }
}
