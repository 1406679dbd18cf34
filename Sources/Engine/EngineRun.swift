import BlockBackend
import Foundation
import Layout
import Virtio

/// Builds devices, IOThreads (by the layout) and one vCPU driver per queue, runs them, and stops
/// them cleanly: drivers stop submitting and drain, then IOThreads finish what is in flight.
public enum Engine {
    /// The devices a job describes, with room for its drivers' buffers.
    public static func makeDevices(for job: EngineJob) throws -> [VirtioBlkDevice] {
        try job.devices.map { config in
            var sized = config
            sized.driverBytesPerQueue = VCPUDriverArea.bytes(queueSize: config.queueSize, depth: job.depth, maxBlock: job.maxBlock)
            if let external = job.external { sized.negotiatedFeatures = external.features }
            return try VirtioBlkDevice(config: sized)
        }
    }

    /// Runs `job`; `source(device, vq)` gives each vCPU driver its requests. `devices` lets a
    /// caller keep a hand on the devices (tests use it to play a hostile guest).
    public static func run<Source: RequestSource>(_ job: EngineJob, devices prebuilt: [VirtioBlkDevice]? = nil,
                                                  source: (_ device: Int, _ vq: Int) -> Source) throws -> EngineResult {
        let devices = try prebuilt ?? makeDevices(for: job)
        if let external = job.external { return try runAttached(job, devices: devices, external: external, source: source) }
        let configs = devices.map(\.config)
        let capacity = configs.map { $0.capacitySectors }.max()! * 512
        // Prepared (created, filled, checked) before any thread starts: nothing of it is measured.
        func openTarget() throws -> (BlockTarget, TargetPreparation) {
            guard let path = job.target else { throw EngineError.configuration("the \(job.backend.rawValue) backend needs a target file") }
            let requirements = TargetRequirements(path: path, capacity: capacity, writes: job.writes, sparse: job.sparseTarget,
                                                  readRanges: job.targetReadRanges)
            return try TargetPreparer.prepare(requirements, safety: job.deviceSafety, progress: job.fillProgress, shouldStop: job.shouldStop)
        }
        var target: BlockTarget?
        var preparation = TargetPreparation.none
        if job.backend != .null { (target, preparation) = try openTarget() }
        var result = try withoutActuallyEscaping(source) { source in
            try BackendFactory.build(job.backend, target: target, workerThreads: job.workerThreads,
                                     for: RunConsumer(job: job, devices: devices, source: source))
        }
        result.targetPreparation = preparation
        return result
    }

    /// `run` once the backend type is known.
    private struct RunConsumer<Source: RequestSource>: BackendConsumer {
        let job: EngineJob
        let devices: [VirtioBlkDevice]
        let source: (Int, Int) -> Source
        func with<Backend: BlockBackend>(_ makeBackend: (Int) throws -> Backend) throws -> EngineResult {
            try Engine.run(job, devices: devices, source: source, backend: makeBackend)
        }
    }

    /// The layout's IOThreads, in its order, each over the queues the layout maps to it (in the
    /// layout's vq order); an IOThread left without queues is not made. Numbers the devices, and
    /// fails unless every queue of every device is served.
    /// - Parameters:
    ///   - cpus: where the IOThread at a layout position runs, given the layout's own CPU set.
    ///   - tap: the recorder tap of the IOThread at a layout position, or nil.
    static func makeIOThreads<Backend: BlockBackend>(
        devices: [VirtioBlkDevice], layout: IOThreadLayout, mergeRequests: Bool, submitBatch: Int = 0,
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
                                          mergeRequests: mergeRequests, maxSubmitBatch: submitBatch, tap: tap(i)))
        }
        let served = iothreads.reduce(0) { $0 + $1.queues.count }
        let total = devices.reduce(0) { $0 + $1.queues.count }
        guard served == total else {
            throw EngineError.configuration("the layout maps \(served) of the \(total) virtqueues to IOThreads")
        }
        return iothreads
    }

    /// Runs `job` on backends `makeBackend` makes, one per IOThread (tests pass their own).
    static func run<Source: RequestSource, Backend: BlockBackend>(
        _ job: EngineJob, devices: [VirtioBlkDevice], source: (Int, Int) -> Source, backend makeBackend: (Int) throws -> Backend
    ) throws -> EngineResult {
        // IOThreads first, then drivers: the planner hands out a --pin list in that order.
        var planner = CPUPinPlanner(policy: job.pin)
        let iothreads = try makeIOThreads(
            devices: devices, layout: job.layout, mergeRequests: job.mergeRequests, submitBatch: job.submitBatch,
            cpus: { i, layoutCPUs in planner.iothread(i, layoutCPUs: layoutCPUs) },
            tap: { _ in job.recording?.makeTap() }, backend: makeBackend)

        let stop = StopFlag()
        let drivers = try makeDrivers(job, devices: devices, source: source, stop: stop)
        let threads = try makeDriverThreads(drivers, job: job, iothreads: iothreads.count, stop: stop, planner: &planner) { device, vq in
            iothreads.first { $0.serves(device: device, vq: vq) }?.cpus ?? []
        }
        let (wall, interrupted) = try drive(job, threads: threads, stop: stop, startServing: { for t in iothreads { try t.start() } })
        let statistics = iothreads.map { $0.stop() }
        job.recording?.finish()
        return result(devices: devices, drivers: drivers, iothreads: statistics, wall: wall, interrupted: interrupted, threads: threads.count)
    }

    /// `run` against an external back-end: the devices' memory, rings and eventfds go to it
    /// first, then only the drivers run. A back-end that stops serving breaks every device, which
    /// ends the drivers (in flight or not) within a 20 ms check.
    static func runAttached<Source: RequestSource>(_ job: EngineJob, devices: [VirtioBlkDevice], external: ExternalBackEndAttachment,
                                                   source: (Int, Int) -> Source) throws -> EngineResult {
        for (i, device) in devices.enumerated() { device.engineIndex = i }
        let backEnd = try external.attach(devices)
        var planner = CPUPinPlanner(policy: job.pin)
        let stop = StopFlag()
        let drivers: [VCPUDriver<Source>]
        let threads: [DriverThread<Source>]
        do {
            drivers = try makeDrivers(job, devices: devices, source: source, stop: stop)
            // The back-end's own threads take at least one CPU of this host.
            threads = try makeDriverThreads(drivers, job: job, iothreads: 1, stop: stop, planner: &planner) { _, _ in external.serviceCPUs }
        } catch {
            _ = backEnd.detach()
            throw error
        }
        var lost: String?
        let wall: Double, interrupted: Bool
        do {
            (wall, interrupted) = try drive(job, threads: threads, stop: stop, startServing: {}, failure: {
                guard lost == nil, let why = backEnd.failure() else { return false }
                lost = why
                for device in devices { device.markBroken(why) }
                return true
            })
        } catch {
            _ = backEnd.detach()
            throw error
        }
        let problem = backEnd.detach()
        job.recording?.finish()
        var done = result(devices: devices, drivers: drivers, iothreads: [], wall: wall, interrupted: interrupted, threads: threads.count)
        if let problem, lost == nil { for device in devices { done.brokenDevices[device.config.name] = problem } }
        return done
    }

    /// One vCPU driver per queue of every device, in device order.
    static func makeDrivers<Source: RequestSource>(_ job: EngineJob, devices: [VirtioBlkDevice], source: (Int, Int) -> Source,
                                                   stop: StopFlag) throws -> [VCPUDriver<Source>] {
        var drivers: [VCPUDriver<Source>] = []
        for (d, device) in devices.enumerated() {
            for vq in 0..<device.queues.count {
                drivers.append(try VCPUDriver(device: device, vq: vq, source: source(d, vq), depth: job.depth, maxBlock: job.maxBlock,
                                              stop: stop, pollForCompletions: job.pollForCompletions, clock: job.clock))
            }
        }
        return drivers
    }

    /// Starts what serves the queues, then the driver threads, and waits until every driver is
    /// done: its source ends, the duration ends, `job.shouldStop` or `failure` says so (the
    /// latter raises the stop itself). Returns the wall time and whether it was interrupted.
    static func drive<Source: RequestSource>(_ job: EngineJob, threads: [DriverThread<Source>], stop: StopFlag,
                                             startServing: () throws -> Void,
                                             failure: () -> Bool = { false }) throws -> (wall: Double, interrupted: Bool) {
        // Run time is measured on CLOCK_MONOTONIC: a wall-clock step (NTP, a suspended VM
        // resumed) must neither end a run early nor stretch its IOPS.
        let startedNs = monotonicNs()
        job.recording?.start()
        try startServing()
        // A little lead, so that every driver thread is running when the first deadline falls.
        job.clock.start(at: monotonicNs() + 2_000_000)
        for thread in threads { try thread.start() }
        // Until every driver is done: the duration's end, or an interruption, stops them.
        let deadlineNs = job.duration.map { startedNs + UInt64(max(0, $0) * 1e9) }
        var interrupted = false
        var running = threads[...]
        while let next = running.first {
            // Wakes as soon as the driver ends; otherwise at most every 20 ms to check the clock.
            let remaining = deadlineNs.map { Double($0 - min($0, monotonicNs())) / 1e9 } ?? 0.02
            let slice = stop.isRaised ? 0.02 : min(0.02, remaining)
            if next.waitFinished(timeout: .now() + slice) {
                running.removeFirst()
            } else if failure() {
                stop.raise()
            } else if stop.isRaised {
                continue
            } else if let deadlineNs, monotonicNs() >= deadlineNs {
                stop.raise()
            } else if job.shouldStop?() == true {
                interrupted = true
                stop.raise()
            }
        }
        for thread in threads { thread.join() }
        return (Double(monotonicNs() - startedNs) / 1e9, interrupted)
    }

    /// What the drivers and IOThreads measured, with the devices that broke.
    static func result<Source: RequestSource>(devices: [VirtioBlkDevice], drivers: [VCPUDriver<Source>], iothreads: [IOThreadStatistics],
                                              wall: Double, interrupted: Bool, threads: Int) -> EngineResult {
        var broken: [String: String] = [:]
        for device in devices { if let reason = device.brokenReason { broken[device.config.name] = reason } }
        return EngineResult(
            iothreads: iothreads, queues: drivers.map(\.statistics), wallSeconds: wall,
            failures: drivers.compactMap(\.failure), brokenDevices: broken, interrupted: interrupted,
            driverThreads: threads)
    }

    /// Groups the drivers onto `job.driverThreads` threads: driver i (counted over every
    /// device's vqs) goes to thread i mod N, so that a device's vqs spread over the threads.
    static func makeDriverThreads<Source: RequestSource>(
        _ drivers: [VCPUDriver<Source>], job: EngineJob, iothreads: Int, stop: StopFlag, planner: inout CPUPinPlanner,
        iothreadCPUs: (VirtioBlkDevice, Int) -> [Int]
    ) throws -> [DriverThread<Source>] {
        let count = job.driverThreads.resolve(vqs: drivers.count, iothreads: iothreads)
        var groups = [[VCPUDriver<Source>]](repeating: [], count: count)
        for (i, driver) in drivers.enumerated() { groups[i % count].append(driver) }
        return try groups.enumerated().map { t, group in
            // Named after its only vq, or numbered (15 characters show in top).
            let name = group.count == 1 ? "vcpu-\(group[0].device.config.name)-\(group[0].vq)" : "vcpu-drivers-\(t)"
            return try DriverThread(name: name, drivers: group, stop: stop, cpus: planner.vcpuDriver(t, iothreadCPUs: job.pollForCompletions ? [] : iothreadCPUs(group[0].device, group[0].vq)),
                                    poll: job.pollForCompletions, realtime: job.realtimeDrivers)
        }
    }
}
