import BlockBackend
import Foundation
import Layout
import Virtio

/// Which backend serves the requests.
public enum BackendKind: String, Sendable, CaseIterable {
    case ioUring = "io_uring"
    case threads
    case null
}

/// Where the engine's threads run.
public enum PinPolicy: Sendable, Equatable {
    /// The scheduler decides (a layout's own CPU sets still apply).
    case none
    /// IOThreads on the last CPUs, vCPU drivers on the first, unless the layout says otherwise.
    case auto
    /// IOThreads take the listed CPUs in order, then vCPU drivers, cycling through the list.
    case list([Int])

    /// Parses `auto`, `none` or a CPU list such as `0,2-3`.
    public init(parsing text: String) throws {
        switch text {
        case "auto": self = .auto
        case "none": self = .none
        default:
            do { self = .list(try CPUSet(parsing: text).cpus) } catch {
                throw EngineError.configuration("--pin must be auto, none or a CPU list such as 0,2-3: \(error)")
            }
        }
    }
}

/// Everything a run needs except the request sources.
public struct EngineJob: Sendable {
    public var devices: [VirtioBlkDeviceConfig]
    public var layout: IOThreadLayout
    public var backend: BackendKind
    /// The file requests go to (unused by the null backend).
    public var target: String?
    public var depth: Int
    public var maxBlock: Int
    /// Seconds to run; nil runs until every source is exhausted.
    public var duration: Double?
    public var pin: PinPolicy
    public var pollForCompletions: Bool
    /// Worker threads per IOThread for the threads backend.
    public var workerThreads: Int
    /// Merge adjacent reads and writes of a pass into one I/O (QEMU's default).
    public var mergeRequests: Bool = true
    /// Whether the sources may write (opens the target read-only when false).
    public var writes: Bool = true
    /// What a block-device target may be used for; nil refuses block devices.
    public var deviceSafety: DeviceSafety?
    /// vCPU drivers run under SCHED_FIFO (open-loop replay keeps its schedule on a busy host).
    public var realtimeDrivers = false
    /// Grow a file target with holes instead of allocating it; then only `targetReadRanges`
    /// are filled with data before the run (all of the capacity when they are nil).
    public var sparseTarget = false
    /// The byte ranges of the target the run reads (a trace's footprint), for a sparse target.
    public var targetReadRanges: [Range<UInt64>]?
    /// Hears about the target's fill (holes and unwritten extents written with data before the
    /// run, so that reads reach the disk), on the thread that called `run`.
    public var fillProgress: TargetFill.ProgressHandler?
    /// When set, every request is recorded as the device saw it (pop and completion times).
    public var recording: RecordingSink?
    /// The run's time origin; replay sources hold the same one for their deadlines.
    public var clock = RunClock()
    /// Asked about every 20 ms while the run goes: true stops it as the end of `duration`
    /// would (drivers stop submitting and drain). A CLI wires it to SIGINT; the result then
    /// says `interrupted`.
    public var shouldStop: (@Sendable () -> Bool)?

    public init(devices: [VirtioBlkDeviceConfig], layout: IOThreadLayout, backend: BackendKind, target: String?, depth: Int,
                maxBlock: Int, duration: Double?, pin: PinPolicy = .none, pollForCompletions: Bool = false, workerThreads: Int = 4) {
        self.devices = devices
        self.layout = layout
        self.backend = backend
        self.target = target
        self.depth = depth
        self.maxBlock = maxBlock
        self.duration = duration
        self.pin = pin
        self.pollForCompletions = pollForCompletions
        self.workerThreads = workerThreads
    }
}

/// What a run measured.
public struct EngineResult: Sendable {
    public var iothreads: [IOThreadStatistics]
    public var queues: [QueueStatistics]
    public var wallSeconds: Double
    /// Drivers that stopped early, and why.
    public var failures: [String]
    /// Devices a driver broke, and why.
    public var brokenDevices: [String: String]
    /// The run was stopped by `shouldStop` before its sources or its duration ended.
    public var interrupted = false
    /// How the target was made fit to measure before the run (kind `.null` for the null backend).
    public var targetPreparation = TargetPreparation.none

    public var requests: UInt64 { queues.reduce(0) { $0 + $1.requests } }
}

/// Builds devices, IOThreads (by the layout) and one vCPU driver per queue, runs them, and stops
/// them cleanly: drivers stop submitting and drain, then IOThreads finish what is in flight.
public enum Engine {
    /// The devices a job describes, with room for its drivers' buffers.
    public static func makeDevices(for job: EngineJob) throws -> [VirtioBlkDevice] {
        try job.devices.map { config in
            var sized = config
            sized.driverBytesPerQueue = VCPUDriverArea.bytes(queueSize: config.queueSize, depth: job.depth, maxBlock: job.maxBlock)
            return try VirtioBlkDevice(config: sized)
        }
    }

    /// Runs `job`; `source(device, vq)` gives each vCPU driver its requests. `devices` lets a
    /// caller keep a hand on the devices (tests use it to play a hostile guest).
    public static func run<Source: RequestSource>(_ job: EngineJob, devices prebuilt: [VirtioBlkDevice]? = nil,
                                                  source: (_ device: Int, _ vq: Int) -> Source) throws -> EngineResult {
        let devices = try prebuilt ?? makeDevices(for: job)
        let configs = devices.map(\.config)
        let capacity = configs.map { $0.capacitySectors }.max()! * 512
        // Prepared (created, filled, checked) before any thread starts: nothing of it is measured.
        func openTarget() throws -> (BlockTarget, TargetPreparation) {
            guard let path = job.target else { throw EngineError.configuration("the \(job.backend.rawValue) backend needs a target file") }
            let requirements = TargetRequirements(path: path, capacity: capacity, writes: job.writes, sparse: job.sparseTarget,
                                                  readRanges: job.targetReadRanges)
            return try TargetPreparer.prepare(requirements, safety: job.deviceSafety, progress: job.fillProgress, shouldStop: job.shouldStop)
        }
        var result: EngineResult
        switch job.backend {
        case .null:
            result = try run(job, devices: devices, source: source) { slots in NullBackend(slots: slots) }
        case .ioUring:
            let (target, preparation) = try openTarget()
            result = try run(job, devices: devices, source: source) { slots in try IOURingBackend(target: target, slots: slots) }
            result.targetPreparation = preparation
        case .threads:
            let (target, preparation) = try openTarget()
            result = try run(job, devices: devices, source: source) { slots in try ThreadPoolBackend(target: target, slots: slots, threads: job.workerThreads) }
            result.targetPreparation = preparation
        }
        return result
    }

    /// The layout's IOThreads, in its order, each over the queues the layout maps to it (in the
    /// layout's vq order); an IOThread left without queues is not made. Numbers the devices, and
    /// fails unless every queue of every device is served.
    /// - Parameters:
    ///   - cpus: where the IOThread at a layout position runs, given the layout's own CPU set.
    ///   - tap: the recorder tap of the IOThread at a layout position, or nil.
    static func makeIOThreads<Backend: BlockBackend>(
        devices: [VirtioBlkDevice], layout: IOThreadLayout, mergeRequests: Bool,
        cpus: (_ layoutIndex: Int, _ layoutCPUs: CPUSet?) -> [Int], tap: (_ layoutIndex: Int) -> RecorderTap?,
        backend makeBackend: (Int) throws -> Backend
    ) throws -> [IOThread<Backend>] {
        for (i, device) in devices.enumerated() { device.engineIndex = i }
        var iothreads: [IOThread<Backend>] = []
        for (i, spec) in layout.iothreads.enumerated() {
            var endpoints: [VirtqueueEndpoint] = []
            for (d, deviceLayout) in layout.devices.enumerated() where d < devices.count {
                // By vq number: a served device holds only the vqs its guest set up.
                for vq in deviceLayout.vqs(of: spec.id) {
                    if let q = devices[d].queues.first(where: { $0.index == vq }) { endpoints.append(q) }
                }
            }
            if endpoints.isEmpty { continue }
            iothreads.append(try IOThread(name: spec.id, queues: endpoints, backend: try makeBackend(IOThread<Backend>.slots(for: endpoints)),
                                          pollMaxNs: spec.pollMaxNs ?? 32_768, cpus: cpus(i, spec.cpus),
                                          mergeRequests: mergeRequests, tap: tap(i)))
        }
        let served = iothreads.reduce(0) { $0 + $1.queues.count }
        let total = devices.reduce(0) { $0 + $1.queues.count }
        guard served == total else {
            throw EngineError.configuration("the layout maps \(served) of the \(total) virtqueues to IOThreads")
        }
        return iothreads
    }

    static func run<Source: RequestSource, Backend: BlockBackend>(
        _ job: EngineJob, devices: [VirtioBlkDevice], source: (Int, Int) -> Source, backend makeBackend: (Int) throws -> Backend
    ) throws -> EngineResult {
        let online = ProcessInfo.processInfo.activeProcessorCount
        var listCursor = 0
        func cpus(iothreadIndex: Int?, vcpuIndex: Int?, layoutCPUs: CPUSet?) -> [Int] {
            if let layoutCPUs { return layoutCPUs.cpus }
            switch job.pin {
            case .none: return []
            case .auto:
                if let i = iothreadIndex { return [online - 1 - i % online] }
                return [vcpuIndex! % online]
            case .list(let list):
                defer { listCursor += 1 }
                return [list[listCursor % list.count]]
            }
        }

        let iothreads = try makeIOThreads(
            devices: devices, layout: job.layout, mergeRequests: job.mergeRequests,
            cpus: { i, layoutCPUs in cpus(iothreadIndex: i, vcpuIndex: nil, layoutCPUs: layoutCPUs) },
            tap: { _ in job.recording?.makeTap() }, backend: makeBackend)

        let stop = StopFlag()
        var drivers: [VCPUDriver<Source>] = []
        var vcpu = 0
        for (d, device) in devices.enumerated() {
            for vq in 0..<device.queues.count {
                drivers.append(try VCPUDriver(device: device, vq: vq, source: source(d, vq), depth: job.depth, maxBlock: job.maxBlock,
                                              stop: stop, pollForCompletions: job.pollForCompletions,
                                              cpus: cpus(iothreadIndex: nil, vcpuIndex: vcpu, layoutCPUs: nil), clock: job.clock,
                                              realtime: job.realtimeDrivers))
                vcpu += 1
            }
        }

        let started = Date()
        job.recording?.start()
        for t in iothreads { try t.start() }
        // A little lead, so that every driver thread is running when the first deadline falls.
        job.clock.start(at: monotonicNs() + 2_000_000)
        for driver in drivers { try driver.start() }
        // Until every driver is done: the duration's end, or an interruption, stops them.
        let deadline = job.duration.map { started.addingTimeInterval($0) }
        var interrupted = false
        var running = drivers[...]
        while let next = running.first {
            // Wakes as soon as the driver ends; otherwise at most every 20 ms to check the clock.
            let slice = stop.isRaised ? 0.02 : min(0.02, max(0, deadline?.timeIntervalSinceNow ?? 0.02))
            if next.waitFinished(timeout: .now() + slice) {
                running.removeFirst()
            } else if stop.isRaised {
                continue
            } else if let deadline, Date() >= deadline {
                stop.raise()
            } else if job.shouldStop?() == true {
                interrupted = true
                stop.raise()
            }
        }
        for driver in drivers { driver.join() }
        let wall = Date().timeIntervalSince(started)
        let statistics = iothreads.map { $0.stop() }
        job.recording?.finish()

        var broken: [String: String] = [:]
        for device in devices { if let reason = device.brokenReason { broken[device.config.name] = reason } }
        return EngineResult(
            iothreads: statistics, queues: drivers.map(\.statistics), wallSeconds: wall,
            failures: drivers.compactMap(\.failure), brokenDevices: broken, interrupted: interrupted)
    }
}
