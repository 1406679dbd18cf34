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
        for (i, device) in devices.enumerated() { device.engineIndex = i }
        var iothreads: [IOThread<Backend>] = []
        var assignment: [String] = []
        for (i, spec) in layout.iothreads.enumerated() {
            var endpoints: [VirtqueueEndpoint] = []
            for (d, deviceLayout) in layout.devices.enumerated() where d < devices.count {
                let wanted = Set(deviceLayout.vqs(of: spec.id))
                endpoints += devices[d].queues.filter { wanted.contains($0.index) }
            }
            if endpoints.isEmpty { continue }
            let cpus: [Int]
            switch (spec.cpus, pin) {
            case (let set?, _): cpus = set.cpus
            case (nil, .none): cpus = []
            case (nil, .auto): cpus = [online - 1 - i % online]
            case (nil, .list(let list)): cpus = [list[i % list.count]]
            }
            let tap = taps.flatMap { i < $0.count ? $0[i] : nil }
            iothreads.append(try IOThread(name: spec.id, queues: endpoints, backend: try makeBackend(IOThread<Backend>.slots(for: endpoints)),
                                          pollMaxNs: spec.pollMaxNs ?? 32_768, cpus: cpus, mergeRequests: merge, tap: tap))
            assignment.append("\(spec.id): " + endpoints.map { "\($0.device.config.name)/\($0.index)" }.joined(separator: ", "))
        }
        let served = iothreads.reduce(0) { $0 + $1.queues.count }
        let total = devices.reduce(0) { $0 + $1.queues.count }
        guard served == total else {
            throw EngineError.configuration("the layout maps \(served) of the \(total) virtqueues the guest set up to IOThreads")
        }
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
