import BlockBackend
import Layout

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
    /// Requests an IOThread sends to the backend per submission while it drains (QEMU's
    /// `aio-max-batch`); 0: a pass's requests in one submission.
    public var submitBatch = 0
    /// Whether the sources may write (opens the target read-only when false).
    public var writes: Bool = true
    /// What a block-device target may be used for; nil refuses block devices.
    public var deviceSafety: DeviceSafety?
    /// How many OS threads run the vCPU drivers (one driver per vq).
    public var driverThreads = DriverThreads.auto
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
    /// When set, an external back-end (vhost-user) serves the devices: no IOThreads, backend or
    /// target here; the layout is the back-end's business.
    public var external: ExternalBackEndAttachment?

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
