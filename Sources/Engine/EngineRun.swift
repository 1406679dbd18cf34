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

    /// Runs `job` on backends `makeBackend` makes, one per IOThread (tests pass their own).
    static func run<Source: RequestSource, Backend: BlockBackend>(
        _ job: EngineJob, devices: [VirtioBlkDevice], source: (Int, Int) -> Source, backend makeBackend: (Int) throws -> Backend
    ) throws -> EngineResult {
        // IOThreads first, then drivers: the planner hands out a --pin list in that order.
        var planner = CPUPinPlanner(policy: job.pin)
        let iothreads = try makeIOThreads(
            devices: devices, layout: job.layout, mergeRequests: job.mergeRequests,
            cpus: { i, layoutCPUs in planner.iothread(i, layoutCPUs: layoutCPUs) },
            tap: { _ in job.recording?.makeTap() }, backend: makeBackend)

        let stop = StopFlag()
        var drivers: [VCPUDriver<Source>] = []
        for (d, device) in devices.enumerated() {
            for vq in 0..<device.queues.count {
                drivers.append(try VCPUDriver(device: device, vq: vq, source: source(d, vq), depth: job.depth, maxBlock: job.maxBlock,
                                              stop: stop, pollForCompletions: job.pollForCompletions, clock: job.clock))
            }
        }
        let threads = try makeDriverThreads(drivers, job: job, iothreads: iothreads.count, stop: stop, planner: &planner) { device, vq in
            iothreads.first { $0.serves(device: device, vq: vq) }?.cpus ?? []
        }

        // Run time is measured on CLOCK_MONOTONIC: a wall-clock step (NTP, a suspended VM
        // resumed) must neither end a run early nor stretch its IOPS.
        let startedNs = monotonicNs()
        job.recording?.start()
        for t in iothreads { try t.start() }
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
        let wall = Double(monotonicNs() - startedNs) / 1e9
        let statistics = iothreads.map { $0.stop() }
        job.recording?.finish()

        var broken: [String: String] = [:]
        for device in devices { if let reason = device.brokenReason { broken[device.config.name] = reason } }
        return EngineResult(
            iothreads: statistics, queues: drivers.map(\.statistics), wallSeconds: wall,
            failures: drivers.compactMap(\.failure), brokenDevices: broken, interrupted: interrupted,
            driverThreads: threads.count)
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
