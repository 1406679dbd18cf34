import Testing
@testable import Virtio

@Suite("Split ring layout (virtio 1.2, 2.7)")
struct RingLayoutTests {
    @Test("sizes are 16·Q, 6+2·Q and 6+8·Q bytes", arguments: [2, 4, 256, 1024, 32768])
    func sizes(queueSize: Int) throws {
        let layout = try SplitVirtqueueLayout.contiguous(queueSize: queueSize, at: 0)
        #expect(layout.descriptorTableSize == 16 * queueSize)
        #expect(layout.availRingSize == 6 + 2 * queueSize)
        #expect(layout.usedRingSize == 6 + 8 * queueSize)
    }

    @Test("field offsets match struct virtq_avail / virtq_used / virtq_desc")
    func offsets() throws {
        // virtq_avail { le16 flags; le16 idx; le16 ring[Q]; le16 used_event; }
        #expect(SplitVirtqueueLayout.ringFlagsOffset == 0)
        #expect(SplitVirtqueueLayout.ringIndexOffset == 2)
        #expect(SplitVirtqueueLayout.ringEntriesOffset == 4)
        #expect(SplitVirtqueueLayout.usedEventOffset(256) == 4 + 2 * 256)
        // virtq_used { le16 flags; le16 idx; struct { le32 id; le32 len; } ring[Q]; le16 avail_event; }
        #expect(SplitVirtqueueLayout.usedElementSize == 8)
        #expect(SplitVirtqueueLayout.availEventOffset(256) == 4 + 8 * 256)
        // virtq_desc { le64 addr; le32 len; le16 flags; le16 next; }
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes { raw in
            VirtqDescriptor(address: 0x1122334455667788, length: 0xAABBCCDD, flags: [.next, .write], next: 0x0102)
                .store(to: raw.baseAddress!)
        }
        #expect(bytes == [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xDD, 0xCC, 0xBB, 0xAA, 0x03, 0x00, 0x02, 0x01])
    }

    @Test("contiguous placement honours the 16/2/4-byte alignments")
    func alignment() throws {
        let layout = try SplitVirtqueueLayout.contiguous(queueSize: 2, at: 3)
        #expect(layout.descriptorTable == 16)
        #expect(layout.availRing == 16 + 32)
        #expect(layout.usedRing % 4 == 0)
        #expect(layout.usedRing >= layout.availRing + 10)
        #expect(layout.usedRing == 60)  // 48 + 10 = 58, aligned up to 60
    }

    @Test("queue size must be a power of two in 2...32768", arguments: [0, 1, 3, 100, 65536, -4])
    func invalidQueueSize(size: Int) {
        #expect(throws: VirtqueueError.invalidQueueSize(size)) {
            _ = try SplitVirtqueueLayout(queueSize: size, descriptorTable: 0, availRing: 0x1000, usedRing: 0x2000)
        }
    }

    @Test("misaligned rings are refused")
    func misaligned() {
        #expect(throws: VirtqueueError.misalignedRing(part: "descriptor table", address: 8, alignment: 16)) {
            _ = try SplitVirtqueueLayout(queueSize: 4, descriptorTable: 8, availRing: 0x1000, usedRing: 0x2000)
        }
        #expect(throws: VirtqueueError.misalignedRing(part: "available ring", address: 0x1001, alignment: 2)) {
            _ = try SplitVirtqueueLayout(queueSize: 4, descriptorTable: 0, availRing: 0x1001, usedRing: 0x2000)
        }
        #expect(throws: VirtqueueError.misalignedRing(part: "used ring", address: 0x2002, alignment: 4)) {
            _ = try SplitVirtqueueLayout(queueSize: 4, descriptorTable: 0, availRing: 0x1000, usedRing: 0x2002)
        }
    }

    @Test("rings outside guest memory are refused when the device attaches")
    func ringsOutsideMemory() throws {
        let mapping = try GuestMemoryMapping(size: 4096)
        let layout = try SplitVirtqueueLayout.contiguous(queueSize: 256, at: 0)  // needs 16·256 bytes for the table alone
        #expect(throws: VirtqueueError.ringOutsideMemory(part: "available ring", address: 4096, length: 6 + 2 * 256)) {
            _ = try SplitVirtqueueDevice(layout: layout, memory: mapping.memory, features: [])
        }
    }
}

@Suite("EVENT_IDX arithmetic (vring_need_event)")
struct EventIndexTests {
    @Test("notify exactly when the event index lies in [old, new)")
    func basic() {
        #expect(virtqNeedEvent(event: 5, new: 6, old: 5))
        #expect(!virtqNeedEvent(event: 6, new: 6, old: 5))
        #expect(virtqNeedEvent(event: 5, new: 10, old: 3))
        #expect(!virtqNeedEvent(event: 2, new: 10, old: 3))
        #expect(!virtqNeedEvent(event: 10, new: 10, old: 3))
        #expect(!virtqNeedEvent(event: 4, new: 4, old: 4))
    }

    @Test("holds across the u16 wrap-around")
    func wrapAround() {
        #expect(virtqNeedEvent(event: 0xFFFF, new: 0x0001, old: 0xFFFE))
        #expect(virtqNeedEvent(event: 0x0000, new: 0x0001, old: 0xFFFE))
        #expect(!virtqNeedEvent(event: 0x0001, new: 0x0001, old: 0xFFFE))
        #expect(!virtqNeedEvent(event: 0xFFFD, new: 0x0001, old: 0xFFFE))
        #expect(virtqNeedEvent(event: 0xFFF0, new: 0x0010, old: 0xFFE0))
    }

    @Test("matches the interval definition for every event, exhaustively for a span", arguments: [0, 0x7FF0, 0xFFF0])
    func exhaustive(base: Int) {
        for span in 0..<40 {
            let old = UInt16(truncatingIfNeeded: base)
            let new = old &+ UInt16(span)
            for delta in -8..<48 {
                let event = old &+ UInt16(truncatingIfNeeded: delta)
                let inside = delta >= 0 && delta < span
                #expect(virtqNeedEvent(event: event, new: new, old: old) == inside)
            }
        }
    }
}
