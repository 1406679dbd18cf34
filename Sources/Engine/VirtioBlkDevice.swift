import CLinuxShim
import Foundation
import SystemSupport
import Synchronization
import Virtio
#if canImport(Glibc)
import Glibc
#endif

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
