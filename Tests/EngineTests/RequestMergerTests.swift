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

    @Test("requests that continue one another merge; a gap, a direction change or going backwards starts a new run")
    func merges() {
        let storage = UnsafeMutablePointer<IOSegment>.allocate(capacity: 16)
        defer { storage.deallocate() }
        let merger = RequestMerger(slots: 16)
        let backend = RecordingBackend()
        merger.add(slot: 1, Self.io(.read, offset: 0, length: 4096, storage: storage, index: 0), backend: backend)
        merger.add(slot: 2, Self.io(.read, offset: 4096, length: 4096, storage: storage, index: 1), backend: backend)
        merger.add(slot: 3, Self.io(.read, offset: 8192, length: 8192, storage: storage, index: 2), backend: backend)
        merger.add(slot: 4, Self.io(.write, offset: 16384, length: 4096, storage: storage, index: 3), backend: backend)  // direction
        merger.add(slot: 5, Self.io(.write, offset: 24576, length: 4096, storage: storage, index: 4), backend: backend)  // gap
        merger.add(slot: 6, Self.io(.write, offset: 20480, length: 4096, storage: storage, index: 5), backend: backend)  // backwards
        merger.flush(to: backend)
        #expect(backend.submitted.map(\.slot) == [1, 4, 5, 6])
        let merged = backend.submitted[0]
        #expect(merged.io.operation == .read && merged.io.offset == 0 && merged.io.length == 16384 && merged.io.iovecCount == 3)
        #expect((0..<3).map { merged.io.iovecs![$0].base } == [storage[0].base, storage[1].base, storage[2].base])
        #expect(backend.submitted[1...].allSatisfy { $0.io.iovecCount == 1 })
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
        for i in 0..<40 { merger.add(slot: i, Self.io(.write, offset: UInt64(i) * 512, length: 512, storage: storage, index: i), backend: backend) }
        merger.flush(to: backend)
        #expect(backend.submitted.map(\.io.iovecCount) == [32, 8])
        #expect(backend.submitted.map(\.io.length) == [32 * 512, 8 * 512])
    }
}
