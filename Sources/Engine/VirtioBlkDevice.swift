import CLinuxShim
import Foundation
import Synchronization
import Virtio
#if canImport(Glibc)
import Glibc
#endif

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

    /// The virtio features the device offers and the engine's drivers accept.
    public var features: VirtioFeatures {
        var f: VirtioFeatures = [.version1, .blkFlush, .blkDiscard, .blkWriteZeroes, .blkSegMax, .blkBlockSize, .blkMultiQueue]
        if eventIndex { f.insert(.eventIndex) }
        if indirectDescriptors { f.insert(.indirectDescriptors) }
        return f
    }
}

/// Device-side state of one virtqueue: the ring, its ioeventfd (kick) and irqfd (call), and
/// per-head storage for the requests in flight. Touched only by the IOThread serving it.
public final class VirtqueueEndpoint: @unchecked Sendable {
    public unowned let device: VirtioBlkDevice
    public let index: Int
    public let ring: SplitVirtqueueDevice
    /// The driver writes here to kick (QEMU's ioeventfd).
    public let kickFD: Int32
    /// The device writes here to interrupt the driver (QEMU's irqfd).
    public let callFD: Int32
    let chainStorage: UnsafeMutableBufferPointer<ChainSegment>
    /// Q × seg_max IOSegments: head h uses [h·seg_max, (h+1)·seg_max).
    let segments: UnsafeMutablePointer<IOSegment>
    let requests: UnsafeMutablePointer<BlockRequest>
    /// Set when a pass completed requests and the used ring needs publishing.
    var dirty = false

    init(device: VirtioBlkDevice, index: Int, ring: SplitVirtqueueDevice, segMax: Int) throws {
        self.device = device
        self.index = index
        self.ring = ring
        kickFD = linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK)
        callFD = linux_eventfd(0, linux_EFD_CLOEXEC)
        guard kickFD >= 0, callFD >= 0 else { throw EngineError.system("eventfd", errno) }
        chainStorage = .allocate(capacity: ring.size + 2)
        segments = .allocate(capacity: ring.size * segMax)
        requests = .allocate(capacity: ring.size)
    }

    deinit {
        close(kickFD)
        close(callFD)
        chainStorage.deallocate()
        segments.deallocate()
        requests.deallocate()
    }
}

/// One virtio-blk device: its guest memory (rings and the driver's buffers, in one shared
/// mapping, as a guest's RAM would be), its configuration and its virtqueues. Several devices
/// can share an engine; a device a driver breaks stops alone.
public final class VirtioBlkDevice: @unchecked Sendable {
    public let config: VirtioBlkDeviceConfig
    public let blkConfig: VirtioBlkConfig
    /// The device's number in its engine run (set before the run's threads start).
    public internal(set) var engineIndex = 0
    public let mapping: GuestMemoryMapping
    public private(set) var queues: [VirtqueueEndpoint] = []
    /// Ring layout of each queue, for the driver side.
    public let layouts: [SplitVirtqueueLayout]
    /// Guest address and size of each queue's driver buffer area.
    public let driverAreas: [(address: UInt64, size: Int)]
    /// Set (once) by the IOThread that found the driver misbehaving; the device then stops
    /// serving all its queues, as QEMU's virtio_error does. Read by every IOThread each pass.
    private let broken = Atomic<Bool>(false)
    private let reasonLock = NSLock()
    private var reason: String?

    public init(config: VirtioBlkDeviceConfig) throws {
        precondition(config.numQueues >= 1 && config.queueSize >= 2 && config.queueSize.nonzeroBitCount == 1)
        self.config = config
        blkConfig = VirtioBlkConfig(capacitySectors: config.capacitySectors, logicalBlockSize: config.logicalBlockSize,
                                    segMax: UInt32(config.segMax), features: config.features)
        let page = 4096
        let ringBytes = Int(SplitVirtqueueLayout.alignUp(UInt64(SplitVirtqueueLayout.descriptorTableSize(config.queueSize)
            + SplitVirtqueueLayout.availRingSize(config.queueSize) + 8 + SplitVirtqueueLayout.usedRingSize(config.queueSize) + 8), UInt64(page)))
        let driverBytes = Int(SplitVirtqueueLayout.alignUp(UInt64(config.driverBytesPerQueue), UInt64(page)))
        let perQueue = ringBytes + driverBytes
        mapping = try GuestMemoryMapping(size: perQueue * config.numQueues, name: "vqtrace-\(config.name)")
        var layouts: [SplitVirtqueueLayout] = []
        var areas: [(UInt64, Int)] = []
        for q in 0..<config.numQueues {
            let base = UInt64(q * perQueue)
            layouts.append(try SplitVirtqueueLayout.contiguous(queueSize: config.queueSize, at: base))
            areas.append((base + UInt64(ringBytes), driverBytes))
        }
        self.layouts = layouts
        driverAreas = areas
        var endpoints: [VirtqueueEndpoint] = []
        for (q, layout) in layouts.enumerated() {
            let ring = try SplitVirtqueueDevice(layout: layout, memory: mapping.memory, features: config.features, queueIndex: q)
            endpoints.append(try VirtqueueEndpoint(device: self, index: q, ring: ring, segMax: config.segMax))
        }
        queues = endpoints
    }

    /// Marks the device broken (first reason wins).
    func markBroken(_ why: String) {
        reasonLock.lock()
        if reason == nil { reason = why }
        reasonLock.unlock()
        broken.store(true, ordering: .releasing)
        // Wake every driver of the device: it sleeps on its irqfd and must see the device stop.
        for q in queues { _ = linux_eventfd_write(q.callFD, 1) }
    }

    @inline(__always) public var isBroken: Bool { broken.load(ordering: .acquiring) }

    /// Why the device stopped, when it did.
    public var brokenReason: String? {
        reasonLock.lock()
        defer { reasonLock.unlock() }
        return reason
    }
}

/// An engine failure, naming what failed.
public enum EngineError: Error, CustomStringConvertible {
    case system(String, Int32)
    case configuration(String)

    public var description: String {
        switch self {
        case .system(let call, let e): return "\(call) failed: \(String(cString: strerror(e)))"
        case .configuration(let what): return what
        }
    }
}
