import CRingAtomics
import Testing
@testable import Virtio

/// A queue in a fresh 1 MiB memfd: a driver side, a device side, and raw access to the ring for
/// writing what a hostile driver would write.
final class QueueFixture {
    let mapping: GuestMemoryMapping
    let layout: SplitVirtqueueLayout
    let driver: SplitVirtqueueDriver
    let device: SplitVirtqueueDevice
    let chainStorage: UnsafeMutableBufferPointer<ChainSegment>
    let ioStorage: UnsafeMutableBufferPointer<IOSegment>
    /// Guest address of a scratch area for headers, data and status bytes.
    static let scratch: UInt64 = 0x40000
    static let indirectBase: UInt64 = 0x80000

    init(queueSize: Int = 8, features: VirtioFeatures = [.version1], indirectEntries: Int = 0, ioCapacity: Int = 64) throws {
        mapping = try GuestMemoryMapping(size: 1 << 20)
        layout = try SplitVirtqueueLayout.contiguous(queueSize: queueSize, at: 0x1000)
        driver = try SplitVirtqueueDriver(layout: layout, memory: mapping.memory, features: features,
                                          indirectTables: Self.indirectBase, indirectTableEntries: indirectEntries)
        device = try SplitVirtqueueDevice(layout: layout, memory: mapping.memory, features: features)
        chainStorage = .allocate(capacity: queueSize)
        ioStorage = .allocate(capacity: ioCapacity)
    }

    deinit {
        chainStorage.deallocate()
        ioStorage.deallocate()
    }

    var memory: GuestMemory { mapping.memory }

    func host(_ address: UInt64) -> UnsafeMutableRawPointer {
        memory.translate(address, length: 1)!
    }

    /// Writes descriptor `index` of the main table as a driver would.
    func writeDescriptor(_ index: Int, _ descriptor: VirtqDescriptor) {
        descriptor.store(to: host(layout.descriptorTable) + 16 * index)
    }

    /// Puts `head` in the next avail slot and publishes `avail.idx = index`.
    func makeAvailable(heads: [UInt16], startingAt start: UInt16 = 0) {
        var index = start
        for head in heads {
            let slot = Int(index) % layout.queueSize
            host(layout.availRing).storeBytes(of: head.littleEndian, toByteOffset: 4 + 2 * slot, as: UInt16.self)
            index &+= 1
        }
        setAvailIndex(index)
    }

    func setAvailIndex(_ index: UInt16) {
        vq_store_release_u16(host(layout.availRing) + 2, index.littleEndian)
    }

    func pop() throws(VirtqueueError) -> DescriptorChain? {
        try device.pop(into: chainStorage)
    }

    /// Adds a virtio-blk request through the driver side: header (type, sector), one data
    /// buffer of `dataLength` bytes (device-writable for reads), and a status byte.
    @discardableResult
    func addRequest(type: UInt32, sector: UInt64, dataLength: UInt32 = 4096, slot: Int = 0, token: UInt64 = 0) -> UInt16? {
        let base = Self.scratch + UInt64(slot) * 0x2000
        VirtioBlk.storeHeader(type: type, sector: sector, to: host(base))
        var buffers = [DriverBuffer(address: base, length: 16, writable: false)]
        if dataLength > 0 {
            buffers.append(DriverBuffer(address: base + 0x100, length: dataLength, writable: type != VirtioBlkRequestType.write.rawValue))
        }
        buffers.append(DriverBuffer(address: base + 0x1F00, length: 1, writable: true))
        host(base + 0x1F00).storeBytes(of: 0xFF, as: UInt8.self)
        return buffers.withUnsafeBufferPointer { driver.add($0, token: token) }
    }

    func statusByte(slot: Int = 0) -> UInt8 {
        host(Self.scratch + UInt64(slot) * 0x2000 + 0x1F00).load(as: UInt8.self)
    }
}

/// Expects `body` to throw exactly `expected`.
func expectVirtqueueError(_ expected: VirtqueueError, sourceLocation: SourceLocation = #_sourceLocation,
                          _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(expected), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as VirtqueueError {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
}
