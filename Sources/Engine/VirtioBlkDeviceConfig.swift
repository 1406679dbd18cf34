import Virtio

/// How a device is configured: what a QEMU `-device virtio-blk-pci,…` line would say.
public struct VirtioBlkDeviceConfig: Sendable {
    public var name: String
    public var numQueues: Int
    public var queueSize: Int
    public var capacitySectors: UInt64
    public var logicalBlockSize: UInt32
    /// Data segments per request the device accepts (virtio-blk seg_max).
    public var segMax: Int
    public var eventIndex: Bool
    public var indirectDescriptors: Bool
    /// Bytes of driver-side buffer space to reserve per queue (request data, headers, status).
    public var driverBytesPerQueue: Int
    /// The features a driver negotiated (a vhost-user guest's SET_FEATURES); nil: `features`.
    public var negotiatedFeatures: VirtioFeatures?

    public init(name: String = "vda", numQueues: Int, queueSize: Int = 256, capacitySectors: UInt64, logicalBlockSize: UInt32 = 512,
                segMax: Int = 32, eventIndex: Bool = true, indirectDescriptors: Bool = true, driverBytesPerQueue: Int = 1 << 20) {
        self.name = name
        self.numQueues = numQueues
        self.queueSize = queueSize
        self.capacitySectors = capacitySectors
        self.logicalBlockSize = logicalBlockSize
        self.segMax = segMax
        self.eventIndex = eventIndex
        self.indirectDescriptors = indirectDescriptors
        self.driverBytesPerQueue = driverBytesPerQueue
    }

    /// The virtio features the device offers and the engine's drivers accept, or what a
    /// foreign driver negotiated.
    public var features: VirtioFeatures {
        if let negotiatedFeatures { return negotiatedFeatures }
        var f: VirtioFeatures = [.version1, .blkFlush, .blkDiscard, .blkWriteZeroes, .blkSegMax, .blkBlockSize, .blkMultiQueue]
        if eventIndex { f.insert(.eventIndex) }
        if indirectDescriptors { f.insert(.indirectDescriptors) }
        return f
    }
}
