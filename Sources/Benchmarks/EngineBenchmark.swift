import BlockBackend
import Engine
import Foundation
import Layout
import Trace
import VhostUser

/// The engine on a fio-like pattern for a fixed time: one vCPU driver per vq keeping `depth`
/// requests in flight, IOThreads as the layout maps the vqs, the backend on the target.
public struct EngineBenchmark: Sendable {
    public var target: String?
    public var sizeBytes: UInt64
    public var backend: BackendKind
    public var vqs: Int
    public var layoutSpec: String
    public var rw: IOPatternKind
    public var blockSize: Int
    public var depth: Int
    public var rwmixread: Int
    public var seconds: Double
    public var pin: PinPolicy
    public var pollCompletions: Bool
    public var merge: Bool
    public var seed: UInt64
    public var deviceSafety: DeviceSafety?
    /// OS threads for the vCPU drivers (one per vq is what fio's numjobs does).
    public var driverThreads = DriverThreads.auto
    /// Requests per io_uring submission while an IOThread drains (QEMU's aio-max-batch); 0: a pass's.
    public var submitBatch = 0
    /// A vhost-user back-end to run the pattern through instead of the engine's IOThreads
    /// (started on the target for each run when vqtrace starts it: qsd, serve).
    public var backEnd: VhostUserBackEndChoice?
    public var fillProgress: TargetFill.ProgressHandler?
    public var shouldStop: (@Sendable () -> Bool)?

    public init(target: String?, sizeBytes: UInt64, backend: BackendKind, vqs: Int, layoutSpec: String, rw: IOPatternKind, blockSize: Int,
                depth: Int, rwmixread: Int = 50, seconds: Double, pin: PinPolicy = .auto, pollCompletions: Bool = false, merge: Bool = true,
                seed: UInt64 = 1, deviceSafety: DeviceSafety? = nil) {
        self.target = target
        self.sizeBytes = sizeBytes
        self.backend = backend
        self.vqs = vqs
        self.layoutSpec = layoutSpec
        self.rw = rw
        self.blockSize = blockSize
        self.depth = depth
        self.rwmixread = rwmixread
        self.seconds = seconds
        self.pin = pin
        self.pollCompletions = pollCompletions
        self.merge = merge
        self.seed = seed
        self.deviceSafety = deviceSafety
    }

    /// The pattern as fio's `job options` spell it.
    public var fioOptions: [String: String] {
        ["rw": rw.rawValue, "bs": "\(blockSize)", "iodepth": "\(depth)", "numjobs": "\(vqs)", "size": "\(sizeBytes)"]
    }

    /// Runs it; returns the layout it resolved and the engine's result.
    public func run() throws -> (layout: IOThreadLayout, result: EngineResult) {
        let layout = try LayoutSpec.parse(layoutSpec, numQueues: vqs)
        let config = VirtioBlkDeviceConfig(numQueues: vqs, queueSize: max(256, depth), capacitySectors: sizeBytes / 512)
        var job = EngineJob(devices: [config], layout: layout, backend: backend, target: target, depth: depth, maxBlock: blockSize,
                            duration: seconds, pin: pin, pollForCompletions: pollCompletions)
        job.mergeRequests = merge
        job.writes = rw != .read && rw != .randread
        job.deviceSafety = deviceSafety
        job.fillProgress = fillProgress
        job.shouldStop = shouldStop
        job.driverThreads = driverThreads
        job.submitBatch = submitBatch
        let external = try backEnd.map { try connect($0, layout: layout, writes: job.writes) }
        job.external = external?.backEnd.attachment
        var result = try withExtendedLifetime(external) {
            try Engine.run(job) { _, vq in
                IOPattern(kind: rw, blockSize: blockSize, regionBytes: sizeBytes, readPercent: rwmixread, seed: seed, queue: vq, queues: vqs)
            }
        }
        if let preparation = external?.preparation { result.targetPreparation = preparation }
        return (layout, result)
    }

    /// Starts or reaches the vhost-user back-end for one run; a back-end vqtrace starts gets the
    /// target prepared as the engine's would be (created, filled with data, checked) first.
    private func connect(_ choice: VhostUserBackEndChoice, layout: IOThreadLayout, writes: Bool) throws -> (backEnd: VhostUserReplayBackEnd, preparation: TargetPreparation?) {
        var preparation: TargetPreparation?
        if case .socket(let path) = choice {
            preparation = .backEnd(socket: path)
        } else if let target {
            let requirements = TargetRequirements(path: target, capacity: sizeBytes, writes: writes)
            preparation = try TargetPreparer.prepare(requirements, safety: deviceSafety, progress: fillProgress, shouldStop: shouldStop).preparation
        }
        let backEnd = try VhostUserReplayBackEnd(choice, trace: deviceShape(layout), copies: 1, layout: layout, target: target, writable: writes,
                                                 safety: deviceSafety ?? DeviceSafety(), pin: pin)
        return (backEnd, preparation)
    }

    /// The device the pattern runs on, as a trace's metadata describes one (`--size`, `--vqs`).
    func deviceShape(_ layout: IOThreadLayout) -> TraceMetadata {
        let device = TraceMetadata.Device(name: layout.devices.first?.name ?? "vda", capacitySectors: sizeBytes / 512, numQueues: UInt16(vqs))
        return TraceMetadata(devices: [device], source: .init(kind: "bench", name: "\(rw.rawValue) bs \(blockSize) qd \(depth)", parameters: [:]))
    }

    /// Reaches every back-end someone else started (a socket) and checks the pattern fits its
    /// device, before any target is prepared or any run starts.
    public func probe(_ choices: [VhostUserBackEndChoice?]) throws {
        let layout = try LayoutSpec.parse(layoutSpec, numQueues: vqs)
        for case let choice? in choices {
            do { try VhostUserReplayBackEnd.probe(choice, trace: deviceShape(layout), copies: 1, layout: layout) } catch {
                throw error.isUsage ? BenchmarkSettingError("--back-ends \(choice.label): \(error.description)") : error
            }
        }
    }

    /// Runs fio with the same pattern on the same target in the same run (io_uring, or fio's
    /// null engine against the null backend).
    public func runFio() throws -> FioPeer.Result {
        try FioPeer.run(engine: backend == .null ? "null" : "io_uring", target: target, sizeBytes: sizeBytes, rw: rw.rawValue,
                        blockSize: blockSize, depth: depth, jobs: vqs, rwmixread: rwmixread, seconds: seconds, shouldStop: shouldStop)
    }
}
