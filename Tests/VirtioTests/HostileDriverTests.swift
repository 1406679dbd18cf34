import Testing
@testable import Virtio

/// One test per rule a hostile driver can break (DESIGN.md "Hostile-driver rules"). Each writes
/// the ring as such a driver would, checks the named error, and checks that the queue is then
/// broken and stays so (it refuses to pop), without touching memory outside the region.
@Suite("Hostile driver: every rule has its test")
struct HostileDriverTests {
    private func expectBroken(_ fixture: QueueFixture, _ expected: VirtqueueError,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        expectVirtqueueError(expected, sourceLocation: sourceLocation) { _ = try fixture.pop() }
        #expect(fixture.device.brokenReason == expected, sourceLocation: sourceLocation)
        #expect(fixture.device.brokenDescription?.hasPrefix("queue 0: ") == true, sourceLocation: sourceLocation)
        // Broken stays broken.
        expectVirtqueueError(.broken(expected.description), sourceLocation: sourceLocation) { _ = try fixture.pop() }
    }

    @Test("head index ≥ Q is refused")
    func headOutOfRange() throws {
        let f = try QueueFixture(queueSize: 8)
        f.makeAvailable(heads: [8])
        expectBroken(f, .headOutOfRange(ringSlot: 0, head: 8, queueSize: 8))
    }

    @Test("next index ≥ Q is refused")
    func nextOutOfRange() throws {
        let f = try QueueFixture(queueSize: 8)
        f.writeDescriptor(0, VirtqDescriptor(address: QueueFixture.scratch, length: 16, flags: .next, next: 9))
        f.makeAvailable(heads: [0])
        expectBroken(f, .nextOutOfRange(descriptor: 0, next: 9, limit: 8))
    }

    @Test("a looped chain is cut at Q descriptors")
    func loop() throws {
        let f = try QueueFixture(queueSize: 8)
        f.writeDescriptor(0, VirtqDescriptor(address: QueueFixture.scratch, length: 16, flags: .next, next: 1))
        f.writeDescriptor(1, VirtqDescriptor(address: QueueFixture.scratch, length: 16, flags: .next, next: 0))
        f.makeAvailable(heads: [0])
        expectBroken(f, .chainTooLong(head: 0, limit: 8))
    }

    @Test("a self-referencing descriptor is a loop")
    func selfLoop() throws {
        let f = try QueueFixture(queueSize: 4)
        f.writeDescriptor(2, VirtqDescriptor(address: QueueFixture.scratch, length: 16, flags: .next, next: 2))
        f.makeAvailable(heads: [2])
        expectBroken(f, .chainTooLong(head: 2, limit: 4))
    }

    @Test("avail.idx may not move more than Q past last_avail_idx")
    func availIndexJump() throws {
        let f = try QueueFixture(queueSize: 8)
        f.setAvailIndex(9)
        expectBroken(f, .availIndexJump(lastSeen: 0, availIndex: 9, queueSize: 8))
    }

    @Test("avail.idx jump is computed modulo 2^16 (wrap-around is legal)")
    func availIndexWrapIsLegal() throws {
        let mapping = try GuestMemoryMapping(size: 1 << 20)
        let layout = try SplitVirtqueueLayout.contiguous(queueSize: 8, at: 0)
        let driver = try SplitVirtqueueDriver(layout: layout, memory: mapping.memory, features: [])
        _ = driver
        let device = try SplitVirtqueueDevice(layout: layout, memory: mapping.memory, features: [], lastAvailIndex: 0xFFFE)
        let avail = mapping.memory.translate(layout.availRing, length: 64)!
        let descs = mapping.memory.translate(layout.descriptorTable, length: 128)!
        for i in 0..<4 {
            VirtqDescriptor(address: 0x8000, length: 16).store(to: descs + 16 * i)
            avail.storeBytes(of: UInt16(i).littleEndian, toByteOffset: 4 + 2 * Int((0xFFFE + i) % 8), as: UInt16.self)
        }
        avail.storeBytes(of: UInt16(2).littleEndian, toByteOffset: 2, as: UInt16.self)  // 0xFFFE + 4 wraps to 2
        let storage = UnsafeMutableBufferPointer<ChainSegment>.allocate(capacity: 8)
        defer { storage.deallocate() }
        var heads: [UInt16] = []
        while let chain = try device.pop(into: storage) { heads.append(chain.head) }
        #expect(heads == [0, 1, 2, 3])
        #expect(device.lastAvailIndex == 2)
    }

    @Test("a chain longer than Q through an indirect table is still bounded by the table")
    func indirectLoop() throws {
        let f = try QueueFixture(queueSize: 8, features: [.indirectDescriptors])
        let table = f.host(QueueFixture.indirectBase)
        VirtqDescriptor(address: QueueFixture.scratch, length: 16, flags: .next, next: 1).store(to: table)
        VirtqDescriptor(address: QueueFixture.scratch, length: 16, flags: .next, next: 0).store(to: table + 16)
        f.writeDescriptor(0, VirtqDescriptor(address: QueueFixture.indirectBase, length: 32, flags: .indirect))
        f.makeAvailable(heads: [0])
        expectBroken(f, .chainTooLong(head: 0, limit: 2))
    }

    @Test("indirect table length must be a non-zero multiple of 16", arguments: [UInt32(0), 8, 24, 33])
    func indirectBadLength(length: UInt32) throws {
        let f = try QueueFixture(queueSize: 8, features: [.indirectDescriptors])
        f.writeDescriptor(3, VirtqDescriptor(address: QueueFixture.indirectBase, length: length, flags: .indirect))
        f.makeAvailable(heads: [3])
        expectBroken(f, .indirectBadLength(descriptor: 3, length: length))
    }

    @Test("indirect tables may not nest")
    func indirectNested() throws {
        let f = try QueueFixture(queueSize: 8, features: [.indirectDescriptors])
        let table = f.host(QueueFixture.indirectBase)
        VirtqDescriptor(address: QueueFixture.scratch, length: 16, flags: .next, next: 1).store(to: table)
        VirtqDescriptor(address: QueueFixture.indirectBase, length: 32, flags: .indirect).store(to: table + 16)
        f.writeDescriptor(0, VirtqDescriptor(address: QueueFixture.indirectBase, length: 32, flags: .indirect))
        f.makeAvailable(heads: [0])
        expectBroken(f, .indirectNested(descriptor: 0, entry: 1))
    }

    @Test("INDIRECT together with NEXT is refused")
    func indirectWithNext() throws {
        let f = try QueueFixture(queueSize: 8, features: [.indirectDescriptors])
        f.writeDescriptor(0, VirtqDescriptor(address: QueueFixture.indirectBase, length: 32, flags: [.indirect, .next], next: 1))
        f.makeAvailable(heads: [0])
        expectBroken(f, .indirectWithNext(descriptor: 0))
    }

    @Test("INDIRECT without the negotiated feature is refused")
    func indirectNotNegotiated() throws {
        let f = try QueueFixture(queueSize: 8, features: [])
        f.writeDescriptor(0, VirtqDescriptor(address: QueueFixture.indirectBase, length: 32, flags: .indirect))
        f.makeAvailable(heads: [0])
        expectBroken(f, .indirectNotNegotiated(descriptor: 0))
    }

    @Test("an indirect table outside guest memory is refused")
    func indirectTableOutsideMemory() throws {
        let f = try QueueFixture(queueSize: 8, features: [.indirectDescriptors])
        f.writeDescriptor(0, VirtqDescriptor(address: (1 << 20) - 16, length: 32, flags: .indirect))
        f.makeAvailable(heads: [0])
        expectBroken(f, .indirectTableOutsideMemory(descriptor: 0, address: (1 << 20) - 16, length: 32))
    }

    @Test("a device-readable descriptor after a device-writable one is refused")
    func readableAfterWritable() throws {
        let f = try QueueFixture(queueSize: 8)
        f.writeDescriptor(0, VirtqDescriptor(address: QueueFixture.scratch, length: 16, flags: [.write, .next], next: 1))
        f.writeDescriptor(1, VirtqDescriptor(address: QueueFixture.scratch, length: 16, flags: []))
        f.makeAvailable(heads: [0])
        expectBroken(f, .readableAfterWritable(descriptor: 1))
    }

    @Test("a buffer reaching past the end of guest memory is refused")
    func bufferOutsideMemory() throws {
        let f = try QueueFixture(queueSize: 8)
        f.writeDescriptor(0, VirtqDescriptor(address: (1 << 20) - 8, length: 16))
        f.makeAvailable(heads: [0])
        expectBroken(f, .bufferOutsideMemory(descriptor: 0, address: (1 << 20) - 8, length: 16))
    }

    @Test("a buffer whose address + length wraps past 2^64 is refused, not aliased to address 0")
    func bufferAddressOverflow() throws {
        let f = try QueueFixture(queueSize: 8)
        f.writeDescriptor(0, VirtqDescriptor(address: UInt64.max - 3, length: 16))
        f.makeAvailable(heads: [0])
        expectBroken(f, .bufferOutsideMemory(descriptor: 0, address: UInt64.max - 3, length: 16))
    }

    @Test("zero-sized buffers are refused")
    func zeroLength() throws {
        let f = try QueueFixture(queueSize: 8)
        f.writeDescriptor(0, VirtqDescriptor(address: QueueFixture.scratch, length: 0))
        f.makeAvailable(heads: [0])
        expectBroken(f, .zeroLengthBuffer(descriptor: 0))
    }

    @Test("a head made available again while in flight is refused")
    func headAlreadyInFlight() throws {
        let f = try QueueFixture(queueSize: 8)
        f.writeDescriptor(1, VirtqDescriptor(address: QueueFixture.scratch, length: 16))
        f.makeAvailable(heads: [1, 1])
        #expect(try f.pop()?.head == 1)
        expectBroken(f, .headAlreadyInFlight(head: 1))
    }

    @Test("in-flight chains never exceed Q")
    func inFlightBound() throws {
        let f = try QueueFixture(queueSize: 4)
        for i in 0..<4 { f.writeDescriptor(i, VirtqDescriptor(address: QueueFixture.scratch, length: 16)) }
        f.makeAvailable(heads: [0, 1, 2, 3])
        for _ in 0..<4 { #expect(try f.pop() != nil) }
        #expect(f.device.inFlightCount == 4)
        // The driver claims 4 more entries while all 4 heads are still in flight.
        f.makeAvailable(heads: [0, 1, 2, 3], startingAt: 4)
        expectBroken(f, .headAlreadyInFlight(head: 0))
        #expect(f.device.inFlightCount == 4)
    }

    @Test("reset clears a broken queue")
    func resetClearsBroken() throws {
        let f = try QueueFixture(queueSize: 8)
        f.makeAvailable(heads: [200])
        expectVirtqueueError(.headOutOfRange(ringSlot: 0, head: 200, queueSize: 8)) { _ = try f.pop() }
        f.device.reset()
        f.setAvailIndex(0)
        #expect(f.device.brokenReason == nil)
        #expect(try f.pop() == nil)
    }

    @Test("a driver rewriting a descriptor during the walk cannot split a check from its use")
    func descriptorsReadOnce() throws {
        // The device copies each descriptor once; the chain it returns reflects one consistent
        // read, so the segment is inside memory even if the table changes afterwards.
        let f = try QueueFixture(queueSize: 8)
        f.writeDescriptor(0, VirtqDescriptor(address: QueueFixture.scratch, length: 64))
        f.makeAvailable(heads: [0])
        let chain = try #require(try f.pop())
        f.writeDescriptor(0, VirtqDescriptor(address: UInt64.max - 1, length: 0xFFFF_FFFF))
        #expect(chain.segments[0].length == 64)
        #expect(f.memory.containsHostRange(chain.segments[0].host, length: 64))
    }
}
