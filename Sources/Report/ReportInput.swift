/// How faithfully a run reproduced its trace (its recording compared with the trace).
public struct RunFidelity: Sendable, Equatable {
    public var iopsError: Double
    public var reorderedShare: Double
    public var latencyP50Ratio: Double?
    /// The comparison's first line.
    public var answer: String
    public init(iopsError: Double, reorderedShare: Double, latencyP50Ratio: Double?, answer: String) {
        self.iopsError = iopsError
        self.reorderedShare = reorderedShare
        self.latencyP50Ratio = latencyP50Ratio
        self.answer = answer
    }

    /// "1.20% IOPS error, 0.00% reordered, latency p50 +3.10%".
    public var figures: String {
        String(format: "%.2f%% IOPS error, %.2f%% reordered", iopsError * 100, reorderedShare * 100)
            + (latencyP50Ratio.map { String(format: ", latency p50 %+.2f%%", ($0 - 1) * 100) } ?? "")
    }
}

/// One stored run, as a report reads it.
public struct ReportRun: Sendable {
    public var id: Int64
    public var layoutSpec: String
    public var iops: Double
    public var bytesPerSecond: Double
    /// Completion latency percentiles over reads and writes, ns.
    public var p50Ns: Double
    public var p99Ns: Double
    public var p999Ns: Double
    /// IOThread name → CPU % of one CPU.
    public var iothreadCPU: [(name: String, percent: Double)]
    /// Completions per 100 ms.
    public var timeline: [UInt64]
    /// Latency CDF: (ns, fraction of requests at or below), ascending.
    public var latencyCDF: [(ns: Double, fraction: Double)]
    public var warning: String?
    /// When the run was recorded and compared with its trace (`sweep --record-dir`).
    public var fidelity: RunFidelity?
    /// Open-loop (or think) lateness p99 against the deadlines, ns; nil for other timings.
    public var latenessP99Ns: Double?
    /// The host could not keep the run's schedule: its figures measure the replayer.
    public var scheduleMissed = false

    public init(id: Int64, layoutSpec: String, iops: Double, bytesPerSecond: Double, p50Ns: Double, p99Ns: Double, p999Ns: Double,
                iothreadCPU: [(name: String, percent: Double)], timeline: [UInt64], latencyCDF: [(ns: Double, fraction: Double)], warning: String?) {
        self.id = id
        self.layoutSpec = layoutSpec
        self.iops = iops
        self.bytesPerSecond = bytesPerSecond
        self.p50Ns = p50Ns
        self.p99Ns = p99Ns
        self.p999Ns = p999Ns
        self.iothreadCPU = iothreadCPU
        self.timeline = timeline
        self.latencyCDF = latencyCDF
        self.warning = warning
    }
}

import Layout

/// A virtio-blk device of the replayed trace.
public struct ReportDevice: Sendable, Equatable {
    public var name: String
    public var numQueues: Int
    public var capacityBytes: UInt64?
    public init(name: String, numQueues: Int, capacityBytes: UInt64? = nil) {
        self.name = name
        self.numQueues = numQueues
        self.capacityBytes = capacityBytes
    }
}

/// Everything a report is built from: the runs and what they ran.
public struct ReportInput: Sendable {
    public var title: String
    /// The layout the others are compared with (`single`, the old default, when present).
    public var baseline: String
    /// Layouts in the order they were given.
    public var layouts: [String]
    public var runs: [ReportRun]
    /// The trace's devices, in order: the recommended configuration has each of them.
    public var devices: [ReportDevice]
    /// vqs of the first device (a one-device report's shorthand).
    public var numQueues: Int {
        get { devices[0].numQueues }
        set { devices[0].numQueues = newValue }
    }
    public var deviceName: String {
        get { devices[0].name }
        set { devices[0].name = newValue }
    }
    public var timing: String
    public var backend: String
    public var target: String
    /// Lines about the trace: source, vqs, mix, sizes, duration.
    public var traceSummary: [(String, String)]
    /// Lines about the host: CPU, cores, kernel, target device.
    public var host: [(String, String)]
    public var onlineCPUs: Int
    /// The share of requests with 64 KiB or more (large blocks gain less from IOThreads).
    public var largeRequestShare: Double
    public var vms: Int
    /// The sweep's plan when the runs are a whole sweep's: the report names what is missing and,
    /// while anything is, recommends nothing. nil for runs picked by id.
    public var plan: SweepPlan?
    /// Runs that started and never stored results: missing, not an error.
    public var unfinishedRuns: [UnfinishedRun]
    /// The trace the runs replayed, for the `vqtrace sweep` command a report suggests.
    public var tracePath: String?
    /// The catalog the runs are in, as `--catalog` takes it again (a path, or a PostgreSQL URL
    /// without its password), so that a suggested sweep's runs join these; nil: the default.
    public var catalogArgument: String?
    /// The report file the sweep wrote, so that a suggested sweep writes there again; nil: the
    /// sweep's default.
    public var reportPath: String?
    /// CPUs of the host the VM will run on that may take IOThreads (`--vm-host-cpus`). nil:
    /// the pinning advice is generic and the libvirt snippet's cpusets are placeholders, since
    /// the host that measured is rarely the host that runs the VM.
    public var vmHostCPUs: CPUSet?
    /// Whether the target was a file or a block device (the snippets' disk type and driver).
    public var targetKind: DiskBacking.Kind
    /// The target's image format (qcow2 when it starts with qcow2's magic).
    public var targetFormat: DiskBacking.ImageFormat
    /// What the loader found that the reader must know (a trace file replaced since the runs).
    public var notes: [String] = []
    /// What the verdict compares: latency p99 for open-loop runs, IOPS otherwise.
    public var criterion: ReportCriterion { ReportCriterion(timing: timing) }

    public init(title: String, baseline: String, layouts: [String], runs: [ReportRun], numQueues: Int, deviceName: String = "vda",
                devices: [ReportDevice]? = nil,
                timing: String, backend: String, target: String, traceSummary: [(String, String)], host: [(String, String)],
                onlineCPUs: Int, largeRequestShare: Double, vms: Int = 1, plan: SweepPlan? = nil, unfinishedRuns: [UnfinishedRun] = [],
                tracePath: String? = nil, vmHostCPUs: CPUSet? = nil, targetKind: DiskBacking.Kind? = nil, targetFormat: DiskBacking.ImageFormat = .raw) {
        self.title = title
        self.baseline = baseline
        self.layouts = layouts
        self.runs = runs
        self.devices = devices.flatMap { $0.isEmpty ? nil : $0 } ?? [ReportDevice(name: deviceName, numQueues: numQueues)]
        self.timing = timing
        self.backend = backend
        self.target = target
        self.traceSummary = traceSummary
        self.host = host
        self.onlineCPUs = onlineCPUs
        self.largeRequestShare = largeRequestShare
        self.vms = vms
        self.plan = plan
        self.unfinishedRuns = unfinishedRuns
        self.tracePath = tracePath
        self.vmHostCPUs = vmHostCPUs
        // Without a look at the target, a /dev path is taken for a block device.
        self.targetKind = targetKind ?? (target.hasPrefix("/dev/") ? .blockDevice : .file)
        self.targetFormat = targetFormat
    }
}
