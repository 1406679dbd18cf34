import BlockBackend
import Testing
import Virtio
@testable import Engine

/// Records what reaches the backend; completes on demand.
final class RecordingBackend: BlockBackend {
    var submitted: [(slot: Int, io: BlockIO)] = []
    var inFlight: Int { submitted.count }
    func submit(slot: Int, _ io: BlockIO) { submitted.append((slot, io)) }
    func submitPending() {}
    func reap(_ body: (Int, Int32) -> Void) -> Int { 0 }
    var hasCompletions: Bool { false }
    var completionFD: Int32 { -1 }
    func clearCompletionSignal() {}
}

@Suite("Request merging")
struct RequestMergerTests {
    /// One iovec per request, pointing at distinct fake addresses.
    static func io(_ op: BlockOperation, offset: UInt64, length: UInt64, storage: UnsafeMutablePointer<IOSegment>, index: Int) -> BlockIO {
        storage[index] = IOSegment(base: UnsafeMutableRawPointer(bitPattern: 0x10000 * (index + 1)), length: Int(length))
        return BlockIO(operation: op, offset: offset, length: length, iovecs: storage + index, iovecCount: 1)
    }

    @Test("adjacent same-direction requests merge in offset order; gaps and direction changes split runs")
    func merges() {
        let storage = UnsafeMutablePointer<IOSegment>.allocate(capacity: 16)
        defer { storage.deallocate() }
        let merger = RequestMerger(slots: 16)
        let backend = RecordingBackend()
        // Out of order on purpose: 8192, 0, 4096 are adjacent reads; 20480 is after a gap; a write at 12288.
        merger.add(slot: 3, Self.io(.read, offset: 8192, length: 4096, storage: storage, index: 0))
        merger.add(slot: 1, Self.io(.read, offset: 0, length: 4096, storage: storage, index: 1))
        merger.add(slot: 2, Self.io(.read, offset: 4096, length: 4096, storage: storage, index: 2))
        merger.add(slot: 5, Self.io(.read, offset: 20480, length: 4096, storage: storage, index: 3))
        merger.add(slot: 4, Self.io(.write, offset: 12288, length: 4096, storage: storage, index: 4))
        merger.flush(to: backend)
        #expect(backend.submitted.count == 3)
        let merged = backend.submitted[0]
        #expect(merged.slot == 1 && merged.io.operation == .read && merged.io.offset == 0 && merged.io.length == 12288 && merged.io.iovecCount == 3)
        // The merged iovecs are the members' in offset order.
        #expect((0..<3).map { merged.io.iovecs![$0].base } == [storage[1].base, storage[2].base, storage[0].base])
        #expect(backend.submitted[1].slot == 5 && backend.submitted[1].io.iovecCount == 1)
        #expect(backend.submitted[2].slot == 4 && backend.submitted[2].io.operation == .write)
        #expect(merger.mergedAway == 2)
        var completed: [Int] = []
        merger.forEachMember(of: 1) { completed.append($0) }
        #expect(completed == [1, 2, 3])
        completed = []
        merger.forEachMember(of: 5) { completed.append($0) }
        #expect(completed == [5])
    }

    @Test("a run stops at 32 requests")
    func capsAt32() {
        let storage = UnsafeMutablePointer<IOSegment>.allocate(capacity: 40)
        defer { storage.deallocate() }
        let merger = RequestMerger(slots: 40)
        let backend = RecordingBackend()
        for i in 0..<40 { merger.add(slot: i, Self.io(.write, offset: UInt64(i) * 512, length: 512, storage: storage, index: i)) }
        merger.flush(to: backend)
        #expect(backend.submitted.map(\.io.iovecCount) == [32, 8])
        #expect(backend.submitted.map(\.io.length) == [32 * 512, 8 * 512])
    }
}
