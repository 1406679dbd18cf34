import CLibURing
import CLinuxShim
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// io_uring on an O_DIRECT file or device, one ring per IOThread (QEMU's aio=io_uring). Reads
/// and writes go straight from guest memory; FLUSH is an fdatasync through the ring; DISCARD and
/// WRITE_ZEROES are fallocate on files, BLKDISCARD/BLKZEROOUT on devices. A short transfer is
/// resubmitted for the rest, EAGAIN and EINTR are retried. Completions also signal an eventfd,
/// so the IOThread can sleep on kicks and completions together.
///
/// Where they pay: the target is a registered (fixed) file, and guest memory is registered as
/// fixed buffers, so single-buffer requests (the common 4-64 KiB case) use READ_FIXED and
/// WRITE_FIXED and the kernel skips pinning pages per request.
public final class IOURingBackend: BlockBackend {
    private let ring: UnsafeMutablePointer<io_uring>
    private let fd: Int32
    private let target: BlockTarget
    private let eventFD: Int32
    /// Requests finished without the ring (DISCARD/WRITE_ZEROES on block devices).
    private var immediate: [(Int, Int32)] = []
    private let slots: Int
    // Per slot: the request and how far it got (for short transfers).
    private let requests: UnsafeMutablePointer<BlockIO>
    private let done: UnsafeMutablePointer<UInt64>
    private var queued = 0
    public private(set) var inFlight = 0
    /// Short transfers and EAGAIN/EINTR retries, for statistics.
    public private(set) var resubmissions = 0
    /// Registered guest memory regions (buffer index = position), empty when not registered.
    private var fixedRegions: [(base: UInt, end: UInt)] = []
    private let fixedFile: Bool
    /// Requests sent as READ_FIXED/WRITE_FIXED, for statistics.
    public private(set) var fixedBufferRequests = 0

    public var counters: BackendCounters {
        var c = BackendCounters()
        c.fixedBufferRequests = fixedBufferRequests
        c.resubmissions = resubmissions
        return c
    }

    public init(target: BlockTarget, slots: Int) throws {
        self.slots = slots
        self.target = target
        fd = target.fd
        immediate.reserveCapacity(slots)
        ring = .allocate(capacity: 1)
        var entries: UInt32 = 1
        while entries < UInt32(min(max(slots, 8), 4096)) { entries <<= 1 }
        let rc = io_uring_queue_init(entries, ring, 0)
        if rc < 0 {
            ring.deallocate()
            throw BlockTargetError(path: target.path, problem: "io_uring_queue_init: \(String(cString: strerror(-rc)))")
        }
        eventFD = linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK)
        if eventFD < 0 || io_uring_register_eventfd(ring, eventFD) < 0 {
            io_uring_queue_exit(ring)
            ring.deallocate()
            if eventFD >= 0 { close(eventFD) }
            throw BlockTargetError(path: target.path, problem: "io_uring eventfd registration failed")
        }
        requests = .allocate(capacity: slots)
        done = .allocate(capacity: slots)
        var files = [fd]
        fixedFile = io_uring_register_files(ring, &files, 1) == 0
    }

    public func registerMemory(_ regions: [UnsafeMutableRawBufferPointer]) {
        guard fixedRegions.isEmpty, !regions.isEmpty else { return }
        var iovecs = regions.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
        // Registration pins the memory; when RLIMIT_MEMLOCK forbids it, requests stay unregistered.
        if io_uring_register_buffers(ring, &iovecs, UInt32(iovecs.count)) == 0 {
            fixedRegions = regions.map { (UInt(bitPattern: $0.baseAddress), UInt(bitPattern: $0.baseAddress) + UInt($0.count)) }
        }
    }

    /// The registered buffer holding [base, base+length), or −1.
    @inline(__always) private func fixedIndex(_ base: UnsafeMutableRawPointer?, _ length: Int) -> Int {
        guard let base else { return -1 }
        let start = UInt(bitPattern: base)
        for (i, region) in fixedRegions.enumerated() where start >= region.base && start + UInt(length) <= region.end { return i }
        return -1
    }

    deinit {
        precondition(inFlight == 0, "io_uring backend destroyed with requests in flight")
        io_uring_queue_exit(ring)
        ring.deallocate()
        close(eventFD)
        requests.deallocate()
        done.deallocate()
    }

    @inline(__always) private func nextSQE() -> UnsafeMutablePointer<io_uring_sqe> {
        if let sqe = io_uring_get_sqe(ring) { return sqe }
        // The submission queue is full: hand what is there to the kernel and take a fresh entry.
        _ = io_uring_submit(ring)
        queued = 0
        guard let sqe = io_uring_get_sqe(ring) else { fatalError("io_uring: no submission entry after submit") }
        return sqe
    }

    @inline(__always) private func prepare(slot: Int) {
        let io = requests[slot]
        let sqe = nextSQE()
        // With a registered file the sqe names it by index 0.
        let file = fixedFile ? 0 : fd
        switch io.operation {
        case .read, .write:
            let first = io.iovecs![0]
            let index = io.iovecCount == 1 ? fixedIndex(first.base, first.length) : -1
            if index >= 0 {
                if io.operation == .read {
                    io_uring_prep_read_fixed(sqe, file, first.base, UInt32(first.length), io.offset, Int32(index))
                } else {
                    io_uring_prep_write_fixed(sqe, file, first.base, UInt32(first.length), io.offset, Int32(index))
                }
                fixedBufferRequests += 1
            } else {
                io.iovecs!.withMemoryRebound(to: iovec.self, capacity: io.iovecCount) {
                    if io.operation == .read {
                        io_uring_prep_readv(sqe, file, $0, UInt32(io.iovecCount), io.offset)
                    } else {
                        io_uring_prep_writev(sqe, file, $0, UInt32(io.iovecCount), io.offset)
                    }
                }
            }
        case .flush:
            io_uring_prep_fsync(sqe, file, UInt32(IORING_FSYNC_DATASYNC))
        case .discard:
            io_uring_prep_fallocate(sqe, file, FallocateMode.discard, off_t(io.offset), off_t(io.length))
        case .writeZeroes:
            io_uring_prep_fallocate(sqe, file, FallocateMode.writeZeroes, off_t(io.offset), off_t(io.length))
        }
        if fixedFile { sqe.pointee.flags |= UInt8(1 << IOSQE_FIXED_FILE_BIT) }  // IOSQE_FIXED_FILE (a macro Swift does not import)
        io_uring_sqe_set_data64(sqe, UInt64(slot))
        queued += 1
    }

    @inline(__always) public func submit(slot: Int, _ io: BlockIO) {
        requests[slot] = io
        done[slot] = 0
        inFlight += 1
        if target.isBlockDevice && (io.operation == .discard || io.operation == .writeZeroes) {
            // io_uring has no BLKDISCARD/BLKZEROOUT here; these are rare, so the IOThread does
            // them itself (QEMU hands them to its thread pool).
            immediate.append((slot, target.deallocate(io.operation, offset: io.offset, length: io.length)))
            return
        }
        prepare(slot: slot)
    }

    public func submitPending() {
        guard queued > 0 else { return }
        var rc: Int32
        repeat { rc = io_uring_submit(ring) } while rc == -EINTR || rc == -EAGAIN
        queued = 0
    }

    public func reap(_ body: (Int, Int32) -> Void) -> Int {
        var count = immediate.count
        for (slot, result) in immediate {
            inFlight -= 1
            body(slot, result)
        }
        immediate.removeAll(keepingCapacity: true)
        var cqe: UnsafeMutablePointer<io_uring_cqe>?
        while io_uring_peek_cqe(ring, &cqe) == 0, let entry = cqe {
            let slot = Int(entry.pointee.user_data)
            let result = entry.pointee.res
            io_uring_cqe_seen(ring, entry)
            precondition(slot < slots, "io_uring returned an unknown slot")
            if result == -EAGAIN || result == -EINTR {
                resubmissions += 1
                prepare(slot: slot)
                continue
            }
            let io = requests[slot]
            if result > 0 && (io.operation == .read || io.operation == .write) {
                let total = done[slot] + UInt64(result)
                if total < io.length {
                    // Short transfer: move the iovecs past what was done, send the rest.
                    done[slot] = total
                    advance(slot: slot, by: Int(result))
                    resubmissions += 1
                    prepare(slot: slot)
                    continue
                }
                inFlight -= 1
                body(slot, Int32(truncatingIfNeeded: total))
            } else {
                inFlight -= 1
                body(slot, result == 0 && (io.operation == .read || io.operation == .write) && io.length > 0 ? -EIO : result)
            }
            count += 1
        }
        if queued > 0 { submitPending() }
        return count
    }

    /// Drops the first `bytes` of a slot's iovecs (after a short transfer).
    private func advance(slot: Int, by bytes: Int) {
        var io = requests[slot]
        var left = bytes
        while left > 0, io.iovecCount > 0, let first = io.iovecs {
            if first.pointee.length <= left {
                left -= first.pointee.length
                io.iovecs = first + 1
                io.iovecCount -= 1
            } else {
                first.pointee.base = first.pointee.base.map { $0 + left }
                first.pointee.length -= left
                left = 0
            }
        }
        io.offset += UInt64(bytes)
        requests[slot] = io
    }

    public var hasCompletions: Bool { !immediate.isEmpty || io_uring_cq_ready(ring) > 0 }
    public var completionFD: Int32 { eventFD }

    public func clearCompletionSignal() {
        var value: UInt64 = 0
        _ = linux_eventfd_read(eventFD, &value)
    }
}
