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

    func run() throws -> (layout: IOThreadLayout, result: EngineResult) {
        let layout = try LayoutSpec.parse(layoutSpec, numQueues: vqs)
        let config = VirtioBlkDeviceConfig(numQueues: vqs, queueSize: max(256, depth), capacitySectors: sizeBytes / 512)
        var job = EngineJob(devices: [config], layout: layout, backend: backend, target: target, depth: depth, maxBlock: blockSize,
                            duration: seconds, pin: pin, pollForCompletions: pollCompletions)
        job.mergeRequests = merge
        job.writes = rw != .read && rw != .randread
        job.deviceSafety = deviceSafety
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
}
