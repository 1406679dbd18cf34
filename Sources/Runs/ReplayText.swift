import Units
import Engine
import Foundation
import Replay

/// A replay's result as lines for a terminal: what `vqtrace replay` prints.
public enum ReplayText {
    /// What the replay's latency figures measure, as its output and help say it.
    public static let clatDefinition = "(clat: from the kick that makes a request visible to the device until its driver reaps the completion after the "
        + "interrupt: IOThread wake-up, backend I/O and interrupt delivery; an open-loop request's lateness before the kick is not in it)"

    public static func lines(_ result: ReplayResult, tracePath: String, layout: String, backend: BackendKind, options: ReplayOptions,
                             target: String?) -> [String] {
        let engine = result.engine
        let threads = result.layout.iothreads.count
        let drivers = engine.driverThreads
        let under = result.backEnd == nil ? "under \(layout) (\(threads) IOThread\(threads == 1 ? "" : "s")), backend \(backend.rawValue)" : "through vhost-user"
        var lines = ["replay \(tracePath) \(under)"
                     + "\(target.map { " on \($0)" } ?? ""), timing \(options.timing.rawValue)\(options.speed == 1 ? "" : " ×\(options.speed)")"
                     + "\(options.vms > 1 ? ", \(options.vms) copies" : ""), \(drivers) driver thread\(drivers == 1 ? "" : "s") (\(result.driverThreads))"]
        if let backEnd = result.backEnd { lines.append("  back-end: \(backEnd)") }
        if result.backEnd == nil || result.targetPreparation.kind != .null { lines.append("  \(result.targetPreparation.summary)") }
        let drift = result.scheduledNs > 0 ? (Double(result.replayedNs) - Double(result.scheduledNs)) * 100 / Double(result.scheduledNs) : 0
        lines.append("  \(result.replayed) requests replayed\(result.skipped > 0 ? ", \(result.skipped) left out" : "") in \(TextFormat.duration(result.replayedNs))"
                     + (options.timing == .open || options.timing == .think ? String(format: " (scheduled %@, %+.2f%%)", TextFormat.duration(result.scheduledNs), drift) : ""))
        lines += EngineText.summaryLines(engine.queues, seconds: engine.wallSeconds)
        lines.append("  " + clatDefinition)
        if let lateness = LatenessFigures(result.lateness) {
            lines.append("  lateness: p50 \(TextFormat.duration(lateness.p50))  p99 \(TextFormat.duration(lateness.p99))  "
                         + "p99.9 \(TextFormat.duration(lateness.p999))  max \(TextFormat.duration(lateness.max ?? 0))")
        }
        // An external back-end's IOThreads are its own: there is no table to show.
        if !engine.iothreads.isEmpty { lines.append(EngineText.iothreadTable(engine.iothreads)) }
        lines += EngineText.cycleLines(engine.iothreads, queues: engine.queues)
        if let warning = result.warning { lines.append("  WARNING: \(warning)") }
        lines += engine.failures.map { "  FAILED: \($0)" }
        lines += result.traceErrors.map { "  TRACE: \($0)" }
        return lines
    }
}
