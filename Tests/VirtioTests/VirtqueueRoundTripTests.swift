import Testing
@testable import Virtio

@Suite("Driver and device exchange chains")
struct VirtqueueRoundTripTests {
    @Test("a request travels driver → device → driver with its token and used length",
          arguments: [VirtioFeatures([]), [.eventIndex], [.indirectDescriptors], [.eventIndex, .indirectDescriptors]])
    func roundTrip(features: VirtioFeatures) throws {
        let f = try QueueFixture(queueSize: 8, features: features, indirectEntries: 4)
        let head = try #require(f.addRequest(type: VirtioBlkRequestType.read.rawValue, sector: 16, token: 77))
        #expect(f.driver.publish())
        let chain = try #require(try f.pop())
        #expect(chain.head == head)
        #expect(chain.segments.count == 3)
        #expect(chain.readableCount == 1)
        #expect(chain.readableBytes == 16)
        #expect(chain.writableBytes == 4097)
        f.device.pushUsed(head: chain.head, length: 4097)
        #expect(f.driver.enableInterrupts() == false)
        #expect(f.device.publishUsed())
        let used = try #require(try f.driver.reap())
        #expect(used == UsedElement(head: head, length: 4097, token: 77))
        #expect(try f.driver.reap() == nil)
        #expect(f.driver.freeCount == 8)
    }

    @Test("descriptors are recycled: 10 000 batches through a 16-entry queue")
    func recycling() throws {
        let f = try QueueFixture(queueSize: 16)
        for i in 0..<10_000 {
            let count = i % 5 + 1  // up to 15 of 16 descriptors in flight
            for j in 0..<count { #expect(f.addRequest(type: 0, sector: 8, slot: j, token: UInt64(i * 10 + j)) != nil) }
            _ = f.driver.publish()
            var popped: [UInt16] = []
            while let chain = try f.pop() { popped.append(chain.head) }
            #expect(popped.count == count)
            for head in popped { f.device.pushUsed(head: head, length: 1) }
            _ = f.device.publishUsed()
            var tokens: [UInt64] = []
            while let used = try f.driver.reap() { tokens.append(used.token) }
            #expect(tokens == (0..<count).map { UInt64(i * 10 + $0) })
        }
        #expect(f.driver.freeCount == 16)
        #expect(f.device.inFlightCount == 0)
    }

    @Test("the driver runs out of descriptors instead of overwriting in-flight ones")
    func exhaustion() throws {
        let f = try QueueFixture(queueSize: 8)
        #expect(f.addRequest(type: 0, sector: 0, slot: 0) != nil)
        #expect(f.addRequest(type: 0, sector: 0, slot: 1) != nil)
        #expect(f.addRequest(type: 0, sector: 0, slot: 2) == nil)  // 6 of 8 used, a request needs 3
        #expect(f.driver.freeCount == 2)
    }

    @Test("without EVENT_IDX, NO_NOTIFY suppresses kicks and NO_INTERRUPT suppresses interrupts")
    func flagSuppression() throws {
        let f = try QueueFixture(queueSize: 8)
        f.device.disableNotifications()
        f.addRequest(type: 0, sector: 0)
        #expect(f.driver.publish() == false)
        #expect(f.device.enableNotifications() == true)  // re-check finds the entry: no kick was sent for it
        let chain = try #require(try f.pop())
        f.driver.disableInterrupts()
        f.device.pushUsed(head: chain.head, length: 1)
        #expect(f.device.publishUsed() == false)
        #expect(f.driver.enableInterrupts() == true)  // the element is waiting: reap it now
        #expect(try f.driver.reap() != nil)
        f.addRequest(type: 0, sector: 0)
        #expect(f.driver.publish() == true)
    }

    @Test("with EVENT_IDX, one kick and one interrupt per batch")
    func eventIndexCoalescing() throws {
        let f = try QueueFixture(queueSize: 8, features: [.eventIndex])
        _ = f.driver.enableInterrupts()
        _ = f.device.enableNotifications()
        f.addRequest(type: 0, sector: 0, slot: 0)
        #expect(f.driver.publish() == true)  // avail_event = 0: the first entry kicks
        f.device.disableNotifications()
        f.addRequest(type: 0, sector: 0, slot: 1)
        #expect(f.driver.publish() == false)  // the device is draining: no kick
        var heads: [UInt16] = []
        while let chain = try f.pop() { heads.append(chain.head) }
        #expect(heads.count == 2)
        #expect(f.device.enableNotifications() == false)
        for head in heads { f.device.pushUsed(head: head, length: 1) }
        #expect(f.device.publishUsed() == true)  // used_event = 0, crossed once for the batch
        while try f.driver.reap() != nil {}  // reaping alone does not re-arm used_event
        f.addRequest(type: 0, sector: 0, slot: 2)
        #expect(f.driver.publish() == true)  // avail_event was re-armed at 2
        let chain = try #require(try f.pop())
        f.device.pushUsed(head: chain.head, length: 1)
        #expect(f.device.publishUsed() == false)  // the driver has not re-armed used_event (still 0)
        while try f.driver.reap() != nil {}
        #expect(f.driver.enableInterrupts() == false)
    }

    @Test("a device returning an id that is not in flight is caught by the driver")
    func hostileDevice() throws {
        let f = try QueueFixture(queueSize: 8)
        let used = f.host(f.layout.usedRing)
        used.storeBytes(of: UInt32(5).littleEndian, toByteOffset: 4, as: UInt32.self)
        used.storeBytes(of: UInt16(1).littleEndian, toByteOffset: 2, as: UInt16.self)
        expectVirtqueueError(.usedIdNotInFlight(id: 5)) { _ = try f.driver.reap() }
        used.storeBytes(of: UInt16(100).littleEndian, toByteOffset: 2, as: UInt16.self)
        let f2 = try QueueFixture(queueSize: 8)
        f2.host(f2.layout.usedRing).storeBytes(of: UInt16(100).littleEndian, toByteOffset: 2, as: UInt16.self)
        expectVirtqueueError(.usedIndexJump(lastSeen: 0, usedIndex: 100, queueSize: 8)) { _ = try f2.driver.reap() }
    }

    @Test("guest memory with several regions translates each and refuses ranges spanning two")
    func multiRegion() throws {
        let a = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
        let b = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
        defer { a.deallocate(); b.deallocate() }
        let memory = try GuestMemory(regions: [
            GuestMemoryRegion(guestAddress: 0x10000, size: 4096, host: b),
            GuestMemoryRegion(guestAddress: 0x0, size: 4096, host: a),
        ])
        #expect(memory.translate(0x10, length: 16) == a + 0x10)
        #expect(memory.translate(0x10010, length: 16) == b + 0x10)
        #expect(memory.translate(0xFF8, length: 16) == nil)
        #expect(memory.translate(0x1000, length: 1) == nil)
        #expect(memory.translate(0x1000, length: 0) == a + 0x1000)  // empty range at the end
        #expect(memory.translate(UInt64.max, length: 2) == nil)
        #expect(throws: GuestMemoryError.outOfRange(address: 0x2000, length: 4)) { _ = try memory.pointer(0x2000, length: 4) }
        #expect(throws: GuestMemoryError.self) {
            _ = try GuestMemory(regions: [
                GuestMemoryRegion(guestAddress: 0, size: 4096, host: a),
                GuestMemoryRegion(guestAddress: 4095, size: 4096, host: b),
            ])
        }
    }
}
