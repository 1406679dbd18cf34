import BlockBackend
import Engine
import Foundation
import Histogram
import Layout
import Trace

/// A replay's failure, saying what to change.
public struct ReplayError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What a replay measured, beside the engine's own statistics.
public struct ReplayResult: Sendable {
    public var engine: EngineResult
    public var layout: IOThreadLayout
    /// Requests replayed and left out (writes skipped, unknown types, too large).
    public var replayed: UInt64
    public var skipped: UInt64
    /// Lateness of open-loop submissions against their deadlines, ns (empty otherwise).
    public var lateness: Histogram<UInt64>
    /// The window's span in the trace, divided by the speed, and the span the replay took
    /// (first submission to last), both in ns.
    public var scheduledNs: UInt64
    public var replayedNs: UInt64
    /// Set when lateness p99 exceeded the threshold: the host could not keep the schedule.
    public var warning: String?
    /// Trace problems met while reading (a damaged chunk ends that queue's stream).
    public var traceErrors: [String]
    /// How the target was made fit to measure (created, filled, checked) before the run.
    public var targetPreparation: TargetPreparation { engine.targetPreparation }
}

/// Replays a trace through the engine: one vCPU driver per (copy, device, vq), each reading its
/// own stream from the trace; IOThreads as the layout says.
public enum ReplayRunner {
    /// Replays `tracePath` onto `target` under `layoutSpec`.
    /// - Parameters:
    ///   - sparseTarget: grow a file target with holes instead of allocating the trace's whole
    ///     capacity; only the byte ranges the replayed window reads (its `TraceFootprint`) are
    ///     filled with data before the run.
    ///   - fillProgress: hears about that fill (and about the whole-capacity fill of a new file).
    public static func run(tracePath: String, target: String?, layoutSpec: String, backend: BackendKind,
                           options: ReplayOptions, safety: DeviceSafety?, pin: PinPolicy = .none, sparseTarget: Bool = false,
                           realtime: Bool = false, recording: RecordingSink? = nil,
                           fillProgress: TargetFill.ProgressHandler? = nil) throws -> ReplayResult {
        let reader = try TraceReader(path: tracePath)
        let metadata = reader.metadata
        guard options.vms >= 1 else { throw ReplayError("--vms must be at least 1") }
        guard options.speed > 0 else { throw ReplayError("--speed must be positive") }

        // Devices: the trace's, once per copy.
        var configs: [VirtioBlkDeviceConfig] = []
        var deviceLayouts: [DeviceLayout] = []
        var iothreads: [IOThreadSpec] = []
        for vm in 0..<options.vms {
            for (d, device) in metadata.devices.enumerated() {
                let name = options.vms == 1 && metadata.devices.count == 1 ? device.name : "vm\(vm + 1)-\(device.name)"
                configs.append(VirtioBlkDeviceConfig(
                    name: name, numQueues: Int(device.numQueues), queueSize: max(Int(device.queueSize), options.depth).nextPowerOfTwo,
                    capacitySectors: device.capacitySectors, logicalBlockSize: device.logicalBlockSize))
                let base: IOThreadLayout
                do { base = try LayoutSpec.parse(layoutSpec, numQueues: Int(device.numQueues)) } catch { throw ReplayError("layout \(layoutSpec): \(error)") }
                guard let single = base.devices.first else { throw ReplayError("layout \(layoutSpec) names no device") }
                // Shared: every device maps onto the same IOThreads; otherwise each copy gets its own.
                let prefix = options.sharedIOThreads ? "" : (options.vms == 1 && d == 0 ? "" : "vm\(vm + 1)-d\(d)-")
                let renamed = base.iothreads.map { IOThreadSpec(id: prefix + $0.id, cpus: $0.cpus, pollMaxNs: $0.pollMaxNs) }
                for spec in renamed where !iothreads.contains(where: { $0.id == spec.id }) { iothreads.append(spec) }
                deviceLayouts.append(DeviceLayout(name: name, iothreads: single.iothreads.map { prefix + $0 },
                                                  assignment: single.assignment.map { prefix + $0 }))
            }
        }
        let layout = IOThreadLayout(iothreads: iothreads, devices: deviceLayouts)

        var job = EngineJob(devices: configs, layout: layout, backend: backend, target: target, depth: options.depth,
                            maxBlock: options.maxRequestBytes, duration: nil, pin: pin)
        job.writes = options.writes == .asIs && reader.totals.mix[1] > 0
        job.deviceSafety = safety
        job.sparseTarget = sparseTarget
        job.fillProgress = fillProgress
        job.realtimeDrivers = realtime
        job.recording = recording
        // Each copy starts at its own seeded offset.
        var random = options.seed | 1
        let offsets: [UInt64] = (0..<options.vms).map { vm in
            guard vm > 0, options.jitterNs > 0 else { return 0 }
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            return random % options.jitterNs
        }
        // Sources are value types inside their drivers; keep their readers here for the counts.
        let perDevice = metadata.devices.count
        var tallies: [SourceTally] = []
        // One feed per copy: each copy replays the whole trace on its own devices.
        var queues = Set<QueueKey>()
        for (d, device) in metadata.devices.enumerated() {
            for vq in 0..<Int(device.numQueues) where options.vqs?.contains(vq) ?? true { queues.insert(QueueKey(device: UInt16(d), vq: UInt16(vq))) }
        }
        if sparseTarget && backend != .null && target != nil {
            // Every copy and every device goes to the one target at the trace's own offsets, so
            // the target needs the union of their reads in the window.
            let footprint = TraceFootprint(reader: reader, from: options.fromNs, to: options.toNs, queues: queues,
                                           writesAsReads: options.writes == .asReads)
            job.targetReadRanges = footprint.union
        }
        let feeds = try (0..<options.vms).map { _ in try ReplayFeed(path: tracePath, from: options.fromNs, to: options.toNs, queues: queues) }
        defer { for feed in feeds { feed.stop() } }
        let engine = try Engine.run(job) { device, vq in
            let copy = device / perDevice
            let traceDevice = UInt16(device % perDevice)
            let tally = SourceTally()
            tallies.append(tally)
            return TraceReplaySource(feed: feeds[copy], device: traceDevice, vq: UInt16(vq), options: options, clock: job.clock,
                                     offsetNs: offsets[copy], enabled: options.vqs?.contains(vq) ?? true, tally: tally)
        }

        var lateness = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for q in engine.queues { lateness.add(q.lateness) }
        let replayed = tallies.reduce(0) { $0 + $1.replayed }
        let skipped = tallies.reduce(0) { $0 + $1.skipped }
        let firstSubmit: UInt64 = engine.queues.compactMap { (q: QueueStatistics) -> UInt64? in q.firstSubmitNs > 0 ? q.firstSubmitNs : nil }.min() ?? 0
        let lastSubmit: UInt64 = engine.queues.map { (q: QueueStatistics) -> UInt64 in q.lastSubmitNs }.max() ?? 0
        let windowFirst = max(reader.totals.firstSubmitNs, options.fromNs)
        let windowLast = min(reader.totals.lastSubmitNs, options.toNs == .max ? .max : options.toNs - 1)
        var warning: String?
        if options.timing == .open && lateness.totalCount > 0 && lateness.valueAtPercentile(99) > options.latenessWarnNs {
            warning = "the host could not keep the schedule: lateness p99 \(lateness.valueAtPercentile(99) / 1000) µs is above \(options.latenessWarnNs / 1000) µs; the numbers measure the replayer, not the layout"
        }
        return ReplayResult(
            engine: engine, layout: layout, replayed: replayed, skipped: skipped, lateness: lateness,
            scheduledNs: windowLast >= windowFirst ? UInt64(Double(windowLast - windowFirst) / options.speed) : 0,
            replayedNs: lastSubmit >= firstSubmit ? lastSubmit - firstSubmit : 0, warning: warning, traceErrors: tallies.compactMap { (t: SourceTally) -> String? in t.error })
    }
}

extension Int {
    var nextPowerOfTwo: Int {
        var v = 1
        while v < self { v <<= 1 }
        return v
    }
}
