import CLinuxShim
import Foundation
import SystemSupport
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

/// Device-side state of one virtqueue: the ring, its ioeventfd (kick) and irqfd (call), and
/// per-head storage for the requests in flight. Touched only by the IOThread serving it.
public final class VirtqueueEndpoint: @unchecked Sendable {
    public unowned let device: VirtioBlkDevice
    public let index: Int
    public let ring: SplitVirtqueueDevice
    private let kick: OwnedDescriptor
    private let call: OwnedDescriptor
    /// The driver writes here to kick (QEMU's ioeventfd). Closed with the endpoint.
    public var kickFD: Int32 { kick.rawValue }
    /// The device writes here to interrupt the driver (QEMU's irqfd). Closed with the endpoint.
    public var callFD: Int32 { call.rawValue }
    let chainStorage: UnsafeMutableBufferPointer<ChainSegment>
    /// Q × seg_max IOSegments: head h uses [h·seg_max, (h+1)·seg_max).
    let segments: UnsafeMutablePointer<IOSegment>
    let requests: UnsafeMutablePointer<BlockRequest>
    // Touched only by the IOThread serving the queue, once per request: no runtime exclusivity check.
    /// Set when a pass completed requests and the used ring needs publishing.
    @exclusivity(unchecked) var dirty = false

    /// - Parameters:
    ///   - kickFD, callFD: eventfds the endpoint takes ownership of (a vhost-user front-end's);
    ///     nil makes its own.
    init(device: VirtioBlkDevice, index: Int, ring: SplitVirtqueueDevice, segMax: Int, kickFD: Int32? = nil, callFD: Int32? = nil) throws {
        self.device = device
        self.index = index
        self.ring = ring
        let what = "making the kick and call eventfds of \(device.config.name) vq \(index)"
        // Owned from here on: a failure of the second closes the first.
        kick = try OwnedDescriptor(checking: kickFD ?? linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK), call: "eventfd", operation: what)
        call = try OwnedDescriptor(checking: callFD ?? linux_eventfd(0, linux_EFD_CLOEXEC), call: "eventfd", operation: what)
        chainStorage = .allocate(capacity: ring.size + 2)
        segments = .allocate(capacity: ring.size * segMax)
        requests = .allocate(capacity: ring.size)
    }

    deinit {
        chainStorage.deallocate()
        segments.deallocate()
        requests.deallocate()
    }
}

/// One virtio-blk device: its guest memory (rings and the driver's buffers, in one shared
/// mapping, as a guest's RAM would be), its configuration and its virtqueues. Several devices
/// can share an engine; a device a driver breaks stops alone.
///
/// A device can also serve rings that a foreign driver placed in memory it does not own (a
/// vhost-user guest): then it has no mapping or driver areas, only the regions and the rings.
public final class VirtioBlkDevice: @unchecked Sendable {
    public let config: VirtioBlkDeviceConfig
    public let blkConfig: VirtioBlkConfig
    // Touched only by the IOThread serving the queue, once per request: no runtime exclusivity check.
    /// The device's number in its engine run (set before the run's threads start).
    @exclusivity(unchecked) public internal(set) var engineIndex = 0
    /// The device's own guest memory, where the engine's vCPU drivers work; nil when served.
    public let mapping: GuestMemoryMapping?
    /// All of the guest memory requests may point into (io_uring registers it as fixed buffers).
    public let memoryRegions: [UnsafeMutableRawBufferPointer]
    /// The queues served, in vq order (a served device may serve only the vqs its guest set up).
    @exclusivity(unchecked) public private(set) var queues: [VirtqueueEndpoint] = []
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
        let mapping = try GuestMemoryMapping(size: perQueue * config.numQueues, name: "vqtrace-\(config.name)")
        self.mapping = mapping
        memoryRegions = [UnsafeMutableRawBufferPointer(start: mapping.base, count: mapping.size)]
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

    /// A ring a foreign driver set up: where it is, where to resume, and its eventfds.
    public struct ServedRing {
        public var vq: Int
        public var layout: SplitVirtqueueLayout
        public var lastAvailIndex: UInt16
        public var usedIndex: UInt16
        /// Owned by the device from here on (pass a dup of a descriptor you keep).
        public var kickFD: Int32
        public var callFD: Int32

        public init(vq: Int, layout: SplitVirtqueueLayout, lastAvailIndex: UInt16, usedIndex: UInt16, kickFD: Int32, callFD: Int32) {
            self.vq = vq
            self.layout = layout
            self.lastAvailIndex = lastAvailIndex
            self.usedIndex = usedIndex
            self.kickFD = kickFD
            self.callFD = callFD
        }
    }

    /// A device serving rings that a foreign driver placed in `memory` (a vhost-user guest).
    /// `config.negotiatedFeatures` should hold what the driver acked.
    public init(serving rings: [ServedRing], memory: GuestMemory, regions: [UnsafeMutableRawBufferPointer], config: VirtioBlkDeviceConfig) throws {
        precondition(!rings.isEmpty)
        self.config = config
        blkConfig = VirtioBlkConfig(capacitySectors: config.capacitySectors, logicalBlockSize: config.logicalBlockSize,
                                    segMax: UInt32(config.segMax), features: config.features)
        mapping = nil
        memoryRegions = regions
        layouts = rings.map(\.layout)
        driverAreas = []
        var endpoints: [VirtqueueEndpoint] = []
        for (i, r) in rings.enumerated() {
            do {
                let ring = try SplitVirtqueueDevice(layout: r.layout, memory: memory, features: config.features, queueIndex: r.vq,
                                                    lastAvailIndex: r.lastAvailIndex, usedIndex: r.usedIndex)
                endpoints.append(try VirtqueueEndpoint(device: self, index: r.vq, ring: ring, segMax: config.segMax, kickFD: r.kickFD, callFD: r.callFD))
            } catch {
                // The endpoints made so far close their descriptors; the rest were never taken.
                for rest in rings[i...] {
                    close(rest.kickFD)
                    close(rest.callFD)
                }
                throw error
            }
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

/// A job or layout the engine cannot run, saying why. (A system call that fails, an eventfd or
/// a thread, throws `SystemCallError`, which names the call and its errno.)
public enum EngineError: Error, CustomStringConvertible {
    case configuration(String)

    public var description: String {
        switch self {
        case .configuration(let what): return what
        }
    }
}
