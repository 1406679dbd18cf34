import BlockBackend
import Foundation
import Layout
import Virtio

/// IOThreads serving devices whose drivers live elsewhere (a vhost-user guest's virtio-blk
/// driver): the layout's IOThreads over the queues the devices serve, on one backend per
/// IOThread, and no vCPU drivers. A session lasts while the guest's rings stay as they are; a
/// server stops it (draining what is in flight) before the guest changes them, and starts a new
/// one after.
public final class EngineSession {
    /// The queues each IOThread serves, by name: "iothread0: vda/0, vda/2".
    public let assignment: [String]
    private let stopAll: () -> [IOThreadStatistics]
    private var stopped = false

    /// Starts the IOThreads.
    /// - Parameters:
    ///   - target: the file or device requests go to (unused by the null backend).
    ///   - taps: one recorder tap per IOThread of the layout (by position), or nil.
    public init(devices: [VirtioBlkDevice], layout: IOThreadLayout, backend: BackendKind, target: BlockTarget?, pin: PinPolicy = .auto,
                workerThreads: Int = 4, mergeRequests: Bool = true, taps: [RecorderTap]? = nil) throws {
        (assignment, stopAll) = try BackendFactory.build(
            backend, target: target, workerThreads: workerThreads,
            for: SessionConsumer(devices: devices, layout: layout, pin: pin, mergeRequests: mergeRequests, taps: taps))
    }

    /// Finishes what is in flight, stops the IOThreads and returns their statistics.
    public func stop() -> [IOThreadStatistics] {
        guard !stopped else { return [] }
        stopped = true
        return stopAll()
    }

    deinit { _ = stop() }

    /// Makes and starts the IOThreads once the backend type is known; returns the assignment
    /// and how to stop them.
    private struct SessionConsumer: BackendConsumer {
        let devices: [VirtioBlkDevice]
        let layout: IOThreadLayout
        let pin: PinPolicy
        let mergeRequests: Bool
        let taps: [RecorderTap]?

        func with<Backend: BlockBackend>(_ makeBackend: (Int) throws -> Backend) throws -> ([String], () -> [IOThreadStatistics]) {
            var planner = CPUPinPlanner(policy: pin)
            let iothreads = try Engine.makeIOThreads(
                devices: devices, layout: layout, mergeRequests: mergeRequests,
                cpus: { i, layoutCPUs in planner.iothread(i, layoutCPUs: layoutCPUs) },
                tap: { i in taps.flatMap { i < $0.count ? $0[i] : nil } }, backend: makeBackend)
            let assignment = iothreads.map { t in "\(t.name): " + t.queues.map { "\($0.device.config.name)/\($0.index)" }.joined(separator: ", ") }
            var started: [IOThread<Backend>] = []
            do {
                for t in iothreads {
                    try t.start()
                    started.append(t)
                }
            } catch {
                for t in started { _ = t.stop() }
                throw error
            }
            return (assignment, { iothreads.map { $0.stop() } })
        }
    }
}
