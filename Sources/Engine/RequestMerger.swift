import BlockBackend
import Virtio

/// QEMU's virtio-blk request merging (virtio_blk_submit_multireq): the reads and writes one
/// queue yields in a pass are sorted by offset, and runs of adjacent requests of the same
/// direction (up to 32 requests, 1024 iovecs, 64 MiB) go to the backend as one vectored I/O.
/// The run's first slot leads; its completion completes every member with the same result.
///
/// Owned by one IOThread; no allocation per request (a fixed pool of merged iovec arrays; when
/// the pool is empty, requests go unmerged).
final class RequestMerger {
    static let maxRequests = 32
    static let maxIovecs = 1024
    static let maxBytes: UInt64 = 64 << 20

    private var pending: [(slot: Int, io: BlockIO)] = []
    /// The next member of a merged run, or −1.
    private let nextMember: UnsafeMutablePointer<Int32>
    /// The pool buffer a leader's merged iovecs live in, or −1.
    private let bufferOfSlot: UnsafeMutablePointer<Int32>
    private let pool: UnsafeMutablePointer<IOSegment>
    private var freeBuffers: [Int32]
    /// Requests that went to the backend inside another request's I/O.
    private(set) var mergedAway: UInt64 = 0

    init(slots: Int, buffers: Int = 32) {
        pending.reserveCapacity(max(slots, 1))
        nextMember = .allocate(capacity: max(slots, 1))
        nextMember.initialize(repeating: -1, count: max(slots, 1))
        bufferOfSlot = .allocate(capacity: max(slots, 1))
        bufferOfSlot.initialize(repeating: -1, count: max(slots, 1))
        pool = .allocate(capacity: buffers * Self.maxIovecs)
        freeBuffers = (0..<Int32(buffers)).reversed().map { $0 }
    }

    deinit {
        nextMember.deallocate()
        bufferOfSlot.deallocate()
        pool.deallocate()
    }

    /// Holds a read or write until `flush`.
    @inline(__always) func add(slot: Int, _ io: BlockIO) {
        pending.append((slot, io))
    }

    /// Submits what `add` collected, merged where adjacent.
    func flush<Backend: BlockBackend>(to backend: Backend) {
        let n = pending.count
        guard n > 0 else { return }
        if n > 1 {
            pending.sort { a, b in
                a.io.operation.rawValue != b.io.operation.rawValue ? a.io.operation.rawValue < b.io.operation.rawValue : a.io.offset < b.io.offset
            }
        }
        var i = 0
        while i < n {
            let first = pending[i].io
            var j = i + 1
            var bytes = first.length
            var iovecs = first.iovecCount
            while j < n && j - i < Self.maxRequests {
                let candidate = pending[j].io
                let previous = pending[j - 1].io
                guard candidate.operation == first.operation, candidate.offset == previous.offset + previous.length,
                      iovecs + candidate.iovecCount <= Self.maxIovecs, bytes + candidate.length <= Self.maxBytes
                else { break }
                bytes += candidate.length
                iovecs += candidate.iovecCount
                j += 1
            }
            if j - i == 1 || freeBuffers.isEmpty {
                for k in i..<j {
                    nextMember[pending[k].slot] = -1
                    backend.submit(slot: pending[k].slot, pending[k].io)
                }
            } else {
                let buffer = freeBuffers.removeLast()
                let base = pool + Int(buffer) * Self.maxIovecs
                var cursor = 0
                for k in i..<j {
                    let io = pending[k].io
                    (base + cursor).update(from: io.iovecs!, count: io.iovecCount)
                    cursor += io.iovecCount
                    nextMember[pending[k].slot] = k + 1 < j ? Int32(pending[k + 1].slot) : -1
                }
                let leader = pending[i].slot
                bufferOfSlot[leader] = buffer
                mergedAway += UInt64(j - i - 1)
                backend.submit(slot: leader, BlockIO(operation: first.operation, offset: first.offset, length: bytes,
                                                     iovecs: base, iovecCount: iovecs))
            }
            i = j
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Calls `body` for the completed slot and each member merged into it, and frees its buffer.
    @inline(__always) func forEachMember(of slot: Int, _ body: (Int) -> Void) {
        let buffer = bufferOfSlot[slot]
        if buffer >= 0 {
            bufferOfSlot[slot] = -1
            freeBuffers.append(buffer)
        }
        var member = Int32(slot)
        while member >= 0 {
            let next = nextMember[Int(member)]
            nextMember[Int(member)] = -1
            body(Int(member))
            member = next
        }
    }
}
