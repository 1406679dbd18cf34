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
        switch backend {
        case .null:
            (assignment, stopAll) = try Self.start(devices, layout, pin, mergeRequests, taps) { slots in NullBackend(slots: slots) }
        case .ioUring:
            guard let target else { throw EngineError.configuration("the io_uring backend needs a target") }
            (assignment, stopAll) = try Self.start(devices, layout, pin, mergeRequests, taps) { slots in try IOURingBackend(target: target, slots: slots) }
        case .threads:
            guard let target else { throw EngineError.configuration("the threads backend needs a target") }
            (assignment, stopAll) = try Self.start(devices, layout, pin, mergeRequests, taps) { slots in
                try ThreadPoolBackend(target: target, slots: slots, threads: workerThreads)
            }
        }
    }

    /// Finishes what is in flight, stops the IOThreads and returns their statistics.
    public func stop() -> [IOThreadStatistics] {
        guard !stopped else { return [] }
        stopped = true
        return stopAll()
    }

    deinit { _ = stop() }

    private static func start<Backend: BlockBackend>(
        _ devices: [VirtioBlkDevice], _ layout: IOThreadLayout, _ pin: PinPolicy, _ merge: Bool, _ taps: [RecorderTap]?,
        backend makeBackend: (Int) throws -> Backend
    ) throws -> ([String], () -> [IOThreadStatistics]) {
        let online = ProcessInfo.processInfo.activeProcessorCount
        let iothreads = try Engine.makeIOThreads(
            devices: devices, layout: layout, mergeRequests: merge,
            cpus: { i, layoutCPUs in
                switch (layoutCPUs, pin) {
                case (let set?, _): return set.cpus
                case (nil, .none): return []
                case (nil, .auto): return [online - 1 - i % online]
                case (nil, .list(let list)): return [list[i % list.count]]
                }
            },
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
