/// One IOThread: its QEMU object id and how it runs.
public struct IOThreadSpec: Sendable, Hashable {
    /// QEMU object id (`-object iothread,id=…`); libvirt's `<iothread id='N'>` is "iothreadN".
    public var id: String
    /// Host CPUs the thread is pinned to (libvirt `<iothreadpin>`), or nil for no pinning.
    public var cpus: CPUSet?
    /// Adaptive polling ceiling in ns (`poll-max-ns`); nil means QEMU's default (32768).
    public var pollMaxNs: UInt64?

    public init(id: String, cpus: CPUSet? = nil, pollMaxNs: UInt64? = nil) {
        self.id = id
        self.cpus = cpus
        self.pollMaxNs = pollMaxNs
    }
}

/// One virtio-blk device's queues and which IOThread serves each.
public struct DeviceLayout: Sendable, Hashable {
    /// Device name: the QEMU `-device` id and the libvirt `<target dev=…>` (e.g. "vda").
    public var name: String
    /// IOThreads named by this device's mapping, in mapping order.
    public var iothreads: [String]
    /// `assignment[vq]` is the IOThread id serving virtqueue `vq`; its count is num-queues.
    public var assignment: [String]

    public var numQueues: Int { assignment.count }

    public init(name: String, iothreads: [String], assignment: [String]) {
        self.name = name
        self.iothreads = iothreads
        self.assignment = assignment
    }

    /// QEMU's round-robin rule: with N IOThreads, the k-th serves vqs k, k+N, k+2N, …
    public static func roundRobin(name: String, iothreads: [String], numQueues: Int) -> DeviceLayout {
        DeviceLayout(name: name, iothreads: iothreads,
                     assignment: (0..<numQueues).map { iothreads[$0 % iothreads.count] })
    }

    /// True when the assignment is what QEMU's round-robin gives for `iothreads` (so the
    /// emitters can leave `vqs` out).
    public var isRoundRobin: Bool {
        !iothreads.isEmpty && assignment.enumerated().allSatisfy { $0.element == iothreads[$0.offset % iothreads.count] }
    }

    /// The vqs served by `iothread`, ascending.
    public func vqs(of iothread: String) -> [Int] {
        assignment.indices.filter { assignment[$0] == iothread }
    }
}

/// IOThreads and the devices whose virtqueues they serve. Several devices may share IOThreads,
/// as they may in QEMU. A layout that exists has passed QEMU's validation.
public struct IOThreadLayout: Sendable, Hashable {
    public var iothreads: [IOThreadSpec]
    public var devices: [DeviceLayout]

    public init(iothreads: [IOThreadSpec], devices: [DeviceLayout]) {
        self.iothreads = iothreads
        self.devices = devices
    }

    public func iothread(_ id: String) -> IOThreadSpec? { iothreads.first { $0.id == id } }

    /// One row per (device, vq): what `mapping check` prints.
    public struct Row: Sendable, Hashable {
        public var device: String
        public var vq: Int
        public var iothread: String
        public var cpus: CPUSet?
    }

    public var rows: [Row] {
        devices.flatMap { device in
            device.assignment.enumerated().map { vq, id in
                Row(device: device.name, vq: vq, iothread: id, cpus: iothread(id)?.cpus)
            }
        }
    }

    // MARK: The named layouts of the command line

    /// All vqs on one IOThread: QEMU before 9.0 (`iothread=iothread1`).
    public static func single(numQueues: Int, device: String = "vda") -> IOThreadLayout {
        roundRobin(iothreadCount: 1, numQueues: numQueues, device: device)
    }

    /// N IOThreads, vqs dealt round-robin.
    public static func roundRobin(iothreadCount: Int, numQueues: Int, device: String = "vda") -> IOThreadLayout {
        let ids = (1...iothreadCount).map { "iothread\($0)" }
        return IOThreadLayout(iothreads: ids.map { IOThreadSpec(id: $0) },
                              devices: [.roundRobin(name: device, iothreads: ids, numQueues: numQueues)])
    }

    /// One IOThread per vq.
    public static func perVQ(numQueues: Int, device: String = "vda") -> IOThreadLayout {
        roundRobin(iothreadCount: numQueues, numQueues: numQueues, device: device)
    }
}
