import BlockBackend
import Engine
import Foundation
import Histogram
import Layout
import Trace

/// A replay's failure, saying what to change.
public struct ReplayError: Error, CustomStringConvertible {
    public let description: String
    /// The options or layout do not fit the trace (a usage mistake, found before any run), as
    /// opposed to a failure while running.
    public let isUsage: Bool
    public init(_ description: String) {
        self.description = description
        isUsage = false
    }
    init(description: String, isUsage: Bool) {
        self.description = description
        self.isUsage = isUsage
    }
    public static func usage(_ description: String) -> ReplayError { ReplayError(description: description, isUsage: true) }
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
    /// What makes the run's figures less than they seem (the schedule not kept, damaged chunks
    /// skipped), as one line; nil for a clean run.
    public var warning: String?
    /// Open-loop lateness p99 passed the threshold: the host could not keep the schedule.
    public var scheduleMissed: Bool
    /// Trace problems that stopped the reading before the end (an I/O error), once each.
    public var traceErrors: [String]
    /// Damaged chunks skipped: their records were not replayed (the rest were).
    public var damagedChunks: [DamagedChunk]
    /// The replayed file's `TraceReader.fingerprint`, stored with the run.
    public var traceFingerprint: String
    /// The `--driver-threads` setting; `engine.driverThreads` is what it came to.
    public var driverThreads: DriverThreads
    /// The external back-end that served the requests (vhost-user), or nil for the engine's own.
    public var backEnd: String?
    /// Stopped early by `shouldStop`: the figures cover only part of the window.
    public var interrupted: Bool { engine.interrupted }
    /// How the target was made fit to measure (created, filled, checked) before the run.
    public var targetPreparation: TargetPreparation { engine.targetPreparation }
}

/// Replays a trace through the engine: one vCPU driver per (copy, device, vq), each reading its
/// own stream from the trace; IOThreads as the layout says.
public enum ReplayRunner {
    /// Checks options and layouts against the trace before anything runs (a sweep calls it once
    /// for all its layouts, so that a bad one is refused before the first run, not after it).
    /// Throws `ReplayError.usage` naming the option and what the trace allows.
    public static func check(tracePath: String, layoutSpecs: [String], options: ReplayOptions) throws {
        try check(trace: .file(tracePath), layoutSpecs: layoutSpecs, options: options)
    }

    /// `check(tracePath:…)` for a trace anywhere (a file, or a catalog's copy).
    public static func check(trace: TraceLocation, layoutSpecs: [String], options: ReplayOptions) throws {
        try check(try trace.open(), layoutSpecs: layoutSpecs, options: options)
    }

    /// Refuses a window of `trace` that holds damaged chunks (a failure, not a usage mistake),
    /// naming them and the records they hold: a run over them would measure less than the trace
    /// says. A replay that allows damage skips them instead, says once what was lost, and is
    /// marked. Reads only the window's chunks.
    public static func refuseDamage(in trace: TraceLocation, options: ReplayOptions) throws {
        let reader = try trace.open()
        let damaged = reader.damagedChunks(in: reader.chunkRange(from: options.fromNs, to: options.toNs))
        guard let lost = DamagedChunk.summary(damaged, of: reader.totals.records) else { return }
        throw ReplayError("\(reader.path) is damaged in the replayed window: \(lost)"
                          + (damaged.first.map { " (chunk \($0.index): \($0.error.problem))" } ?? "")
                          + "; --allow-damaged replays the rest and marks the run, `vqtrace traces repair` writes a trace without them")
    }

    static func check(_ reader: TraceReader, layoutSpecs: [String], options: ReplayOptions) throws {
        let devices = reader.metadata.devices
        guard (1...256).contains(options.vms) else { throw ReplayError.usage("--vms must be 1...256, not \(options.vms)") }
        guard options.speed.isFinite && options.speed >= 0.001 && options.speed <= 1e6 else {
            throw ReplayError.usage("--speed must be 0.001...1000000, not \(options.speed)")
        }
        guard (1...1024).contains(options.depth) else { throw ReplayError.usage("--qd must be 1...1024, not \(options.depth)") }
        guard options.fromNs < options.toNs else { throw ReplayError.usage("the window is empty: --to must be after --from") }
        let totals = reader.totals
        guard totals.records > 0 else { throw ReplayError.usage("\(reader.path) holds no requests") }
        if options.fromNs > totals.lastSubmitNs {
            throw ReplayError.usage(String(format: "the window starts after the trace ends: --from is %.3f s, the trace lasts %.3f s",
                                           Double(options.fromNs - totals.firstSubmitNs) / 1e9, Double(totals.lastSubmitNs - totals.firstSubmitNs) / 1e9))
        }
        if let vqs = options.vqs {
            let most = devices.map { Int($0.numQueues) }.max() ?? 0
            let outside = vqs.filter { $0 >= most }.sorted()
            guard outside.isEmpty, !vqs.isEmpty else {
                throw ReplayError.usage("--vqs names vq \(outside.map(String.init).joined(separator: ", ")), but the trace's devices have vqs 0-\(most - 1)")
            }
        }
        for spec in layoutSpecs {
            for device in devices {
                do { _ = try LayoutSpec.parse(spec, numQueues: Int(device.numQueues)) } catch {
                    throw ReplayError.usage("layout \(spec): \(error) (device \(device.name) of the trace has \(device.numQueues) virtqueues)")
                }
            }
        }
    }

    /// Whether a replay of `reader` with `options` writes, and, for a sparse target, the byte
    /// ranges it reads (the only ones filled with data): what its target must offer.
    static func targetNeeds(_ reader: TraceReader, options: ReplayOptions, queues: Set<QueueKey>, sparse: Bool)
        -> (writes: Bool, readRanges: [Range<UInt64>]?) {
        let writes = writes(reader, options: options)
        guard sparse else { return (writes, nil) }
        // Every copy and every device goes to the one target at the trace's own offsets, so
        // the target needs the union of their reads in the window.
        let footprint = TraceFootprint(reader: reader, from: options.fromNs, to: options.toNs, queues: queues,
                                       writesAsReads: options.writes == .asReads)
        return (writes, footprint.union)
    }

    /// Whether a replay of `reader` with `options` changes data on its target.
    public static func writes(_ reader: TraceReader, options: ReplayOptions) -> Bool {
        // DISCARD and WRITE_ZEROES (counted as "other") change data as writes do.
        options.writes == .asIs && (reader.totals.mix[1] > 0 || reader.totals.mix[3] > 0)
    }

    /// The queues a replay with `options` feeds: every vq of every device, or those of `--vqs`.
    static func replayedQueues(_ metadata: TraceMetadata, options: ReplayOptions) -> Set<QueueKey> {
        var queues = Set<QueueKey>()
        for (d, device) in metadata.devices.enumerated() {
            for vq in 0..<Int(device.numQueues) where options.vqs?.contains(vq) ?? true { queues.insert(QueueKey(device: UInt16(d), vq: UInt16(vq))) }
        }
        return queues
    }

    /// Prepares `target` as a replay of `tracePath` would (creates, fills, checks it; see
    /// `TargetPreparer`) without running anything: a sweep does it before its first run, so that
    /// a refused target ends it before anything is stored and the fill is not part of a run.
    public static func prepareTarget(tracePath: String, target: String, options: ReplayOptions, safety: DeviceSafety?,
                                     sparseTarget: Bool = false, fillProgress: TargetFill.ProgressHandler? = nil,
                                     shouldStop: (@Sendable () -> Bool)? = nil) throws -> TargetPreparation {
        try prepareTarget(trace: .file(tracePath), target: target, options: options, safety: safety, sparseTarget: sparseTarget,
                          fillProgress: fillProgress, shouldStop: shouldStop)
    }

    /// `prepareTarget(tracePath:…)` for a trace anywhere (a file, or a catalog's copy).
    public static func prepareTarget(trace: TraceLocation, target: String, options: ReplayOptions, safety: DeviceSafety?,
                                     sparseTarget: Bool = false, fillProgress: TargetFill.ProgressHandler? = nil,
                                     shouldStop: (@Sendable () -> Bool)? = nil) throws -> TargetPreparation {
        let reader = try trace.open()
        let needs = targetNeeds(reader, options: options, queues: replayedQueues(reader.metadata, options: options), sparse: sparseTarget)
        let capacity = (reader.metadata.devices.map(\.capacitySectors).max() ?? 0) * 512
        let requirements = TargetRequirements(path: target, capacity: capacity, writes: needs.writes, sparse: sparseTarget, readRanges: needs.readRanges)
        return try TargetPreparer.prepare(requirements, safety: safety, progress: fillProgress, shouldStop: shouldStop).preparation
    }

    /// Replays `tracePath` onto `target` under `layoutSpec`.
    /// - Parameters:
    ///   - sparseTarget: grow a file target with holes instead of allocating the trace's whole
    ///     capacity; only the byte ranges the replayed window reads (its `TraceFootprint`) are
    ///     filled with data before the run.
    ///   - fillProgress: hears about that fill (and about the whole-capacity fill of a new file).
    ///   - shouldStop: asked while the run goes; true stops it (the result says `interrupted`).
    public static func run(tracePath: String, target: String?, layoutSpec: String, backend: BackendKind,
                           options: ReplayOptions, safety: DeviceSafety?, pin: PinPolicy = .none, sparseTarget: Bool = false,
                           realtime: Bool = false, recording: RecordingSink? = nil,
                           fillProgress: TargetFill.ProgressHandler? = nil, external: ExternalBackEndAttachment? = nil,
                           shouldStop: (@Sendable () -> Bool)? = nil) throws -> ReplayResult {
        try run(trace: .file(tracePath), target: target, layoutSpec: layoutSpec, backend: backend, options: options, safety: safety,
                pin: pin, sparseTarget: sparseTarget, realtime: realtime, recording: recording, fillProgress: fillProgress,
                external: external, shouldStop: shouldStop)
    }

    /// `run(tracePath:…)` for a trace anywhere: a file, or a trace a catalog holds, whose
    /// chunks are fetched as the feed reads them (only the window's).
    /// - Parameter external: a back-end outside the engine (vhost-user) serves the requests;
    ///   then `backend` and `target` are its business and the layout only names the run.
    public static func run(trace: TraceLocation, target: String?, layoutSpec: String, backend: BackendKind,
                           options: ReplayOptions, safety: DeviceSafety?, pin: PinPolicy = .none, sparseTarget: Bool = false,
                           realtime: Bool = false, recording: RecordingSink? = nil,
                           fillProgress: TargetFill.ProgressHandler? = nil, external: ExternalBackEndAttachment? = nil,
                           shouldStop: (@Sendable () -> Bool)? = nil) throws -> ReplayResult {
        let reader = try trace.open()
        let metadata = reader.metadata
        try check(reader, layoutSpecs: [layoutSpec], options: options)

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
        job.deviceSafety = safety
        job.sparseTarget = sparseTarget
        job.fillProgress = fillProgress
        job.realtimeDrivers = realtime
        job.driverThreads = options.driverThreads
        job.recording = recording
        job.shouldStop = shouldStop
        job.external = external
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
        let queues = replayedQueues(metadata, options: options)
        let needs = targetNeeds(reader, options: options, queues: queues, sparse: sparseTarget && backend != .null && target != nil)
        job.writes = needs.writes
        job.targetReadRanges = needs.readRanges
        let feeds = try (0..<options.vms).map { _ in try ReplayFeed(trace: trace, from: options.fromNs, to: options.toNs, queues: queues) }
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
        // The feeds' findings are read once their threads have ended.
        for feed in feeds { feed.stop() }
        // The span of what was fed (the chosen vqs in the window), not of the whole trace.
        let span = feeds.first?.fedSpan
        let windowFirst = span?.first ?? 0
        let windowLast = span?.last ?? 0
        var warnings: [String] = []
        let scheduleMissed = (options.timing == .open || options.timing == .think) && lateness.totalCount > 0 && lateness.valueAtPercentile(99) > options.latenessWarnNs
        if scheduleMissed {
            warnings.append("the host could not keep the schedule: lateness p99 \(lateness.valueAtPercentile(99) / 1000) µs is above \(options.latenessWarnNs / 1000) µs; the numbers measure the replayer, not the layout")
        }
        // Every copy reads the same file, so the first feed's damage is every copy's.
        let damaged = feeds.first?.damaged ?? []
        if let lost = DamagedChunk.summary(damaged, of: reader.totals.records) { warnings.append("the trace is damaged: \(lost)") }
        var traceErrors: [String] = []
        for error in feeds.compactMap(\.error) where !traceErrors.contains(error) { traceErrors.append(error) }
        return ReplayResult(
            engine: engine, layout: layout, replayed: replayed, skipped: skipped, lateness: lateness,
            scheduledNs: windowLast >= windowFirst ? UInt64(Double(windowLast - windowFirst) / options.speed) : 0,
            replayedNs: lastSubmit >= firstSubmit ? lastSubmit - firstSubmit : 0, warning: warnings.isEmpty ? nil : warnings.joined(separator: "; "), scheduleMissed: scheduleMissed,
            traceErrors: traceErrors, damagedChunks: damaged, traceFingerprint: reader.fingerprint, driverThreads: options.driverThreads,
            backEnd: external?.name)
    }
}

extension Int {
    var nextPowerOfTwo: Int {
        var v = 1
        while v < self { v <<= 1 }
        return v
    }
}
