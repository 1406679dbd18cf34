import Units
import Engine
import Foundation

/// An engine run's figures as lines for a terminal: what `bench`, `replay` and `record` print.
public enum EngineText {
    /// "read: N IOPS, B/s, clat p50 … p99 … p99.9 …" for each direction that saw requests.
    public static func summaryLines(_ queues: [QueueStatistics], seconds: Double) -> [String] {
        var lines: [String] = []
        for read in [true, false] {
            let figures = FioDirection(queues, read: read, seconds: seconds)
            guard figures.ios > 0 else { continue }
            let p = figures.latency.percentile
            lines.append("  \(read ? "read " : "write"): \(String(format: "%.0f", figures.iops)) IOPS, \(TextFormat.bytes(UInt64(figures.bytesPerSecond)))/s, "
                         + "clat p50 \(TextFormat.duration(p[FioDirection.key(50)] ?? 0))  p99 \(TextFormat.duration(p[FioDirection.key(99)] ?? 0))  "
                         + "p99.9 \(TextFormat.duration(p[FioDirection.key(99.9)] ?? 0))")
        }
        return lines
    }

    /// What each IOThread did, as an indented table.
    public static func iothreadTable(_ iothreads: [IOThreadStatistics]) -> String {
        var rows = [["IOThread", "CPUs", "requests", "passes", "per drain", "merged", "kicks", "notifies", "poll hit/miss", "sleeps", "CPU %"]]
        for t in iothreads {
            rows.append([t.name, t.cpus.isEmpty ? "-" : t.cpus.map(String.init).joined(separator: ","), "\(t.requests)", "\(t.passes)",
                         String(format: "%.1f", t.meanBatch), "\(t.merged)", "\(t.kicks)", "\(t.notifications)", "\(t.pollHits)/\(t.pollMisses)",
                         "\(t.sleeps)", String(format: "%.0f", t.cpuPercent)])
        }
        var table = TextFormat.table(rows, rightAligned: Set(2..<11), indent: "  ")
        table += "  passes: loop passes that took requests or completions; per drain: requests taken from a vq\n"
            + "  each time it had any; merged: requests joined to a neighbour's I/O; kicks: driver notifications\n"
            + "  read; notifies: interrupts sent; poll hit/miss: idle polls that found work or gave up; sleeps: poll(2) waits"
        return table
    }

    /// One line per IOThread on each request's round trip: how many requests its backend really
    /// held against the drivers' depth, and where the notifications' time went.
    public static func cycleLines(_ iothreads: [IOThreadStatistics], queues: [QueueStatistics]) -> [String] {
        let driverDepth = queues.reduce(0.0) { $0 + $1.meanInFlight }
        let interrupts = queues.reduce(UInt64(0)) { $0 + $1.interrupts }
        let interruptNs = queues.reduce(UInt64(0)) { $0 + $1.interruptToWakeNs }
        var lines = [String(format: "  drivers kept %.1f requests in flight (time-weighted)", driverDepth)
                     + (interrupts > 0 && interruptNs > 0 ? "; interrupt → driver wake-up \(TextFormat.duration(interruptNs / interrupts)) mean" : "")]
        for t in iothreads {
            guard let c = t.cycle else { continue }
            lines.append(String(format: "  %@: %.1f in flight at the backend; kick → wake-up %@, wake-up → submit %@; %.2f wake-ups per request; %.1f completions per reap",
                                t.name, c.meanInFlight, TextFormat.duration(UInt64(c.kickToWakeNs)), TextFormat.duration(UInt64(c.wakeToSubmitNs)),
                                c.wakeUpsPerRequest, c.meanReapBatch)
                         + (c.meanSubmitBatch.map { String(format: ", %.1f requests per submission", $0) } ?? ""))
        }
        return lines
    }
}
