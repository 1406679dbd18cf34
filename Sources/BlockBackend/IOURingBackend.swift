import CLibURing
import CLinuxShim
import SystemPackage
import SystemSupport
import Virtio
#if canImport(Glibc)
import Glibc
#endif

/// io_uring on an O_DIRECT file or device, one ring per IOThread (QEMU's aio=io_uring). Reads
/// and writes go straight from guest memory; FLUSH is an fdatasync through the ring; DISCARD and
/// WRITE_ZEROES are fallocate on files, BLKDISCARD/BLKZEROOUT on devices. A short transfer is
/// resubmitted for the rest, EAGAIN and EINTR are retried, and a submission the kernel refuses
/// fails only its own requests (see `flush`). Completions also signal an eventfd,
/// so the IOThread can sleep on kicks and completions together.
///
/// Where they pay: the target is a registered (fixed) file, and guest memory is registered as
/// fixed buffers, so single-buffer requests (the common 4-64 KiB case) use READ_FIXED and
/// WRITE_FIXED and the kernel skips pinning pages per request.
public final class IOURingBackend: BlockBackend {
    private let uring: IOURing
    /// `uring.ring`, kept here so the hot path reads one stored pointer.
    private let ring: UnsafeMutablePointer<io_uring>
    private let fd: Int32
    private let target: BlockTarget
    private let eventFD: OwnedDescriptor
    // Everything below is touched only by the owning IOThread (the protocol's contract), so the
    // runtime exclusivity checks would only cost time on the per-request path.
    /// Final results that did not come from the ring: DISCARD/WRITE_ZEROES done synchronously
    /// on block devices, and requests whose submission failed for good (−errno, IOERR).
    @exclusivity(unchecked) private var finished: SlotResults
    /// Completions taken out of the completion queue while a submission waited for room; `reap`
    /// handles them like the ones still in the ring.
    @exclusivity(unchecked) private var taken: SlotResults
    private let slots: Int
    // Per slot: the request and how far it got (for short transfers).
    private let requests: UnsafeMutablePointer<BlockIO>
    private let done: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) public private(set) var inFlight = 0
    /// Entries the kernel consumed whose completion has not been taken yet.
    @exclusivity(unchecked) private var kernelInFlight = 0
    /// Short transfers and EAGAIN/EINTR retries, for statistics.
    @exclusivity(unchecked) public private(set) var resubmissions = 0
    /// io_uring_submit calls answered EAGAIN, EBUSY or EINTR and made again.
    @exclusivity(unchecked) public private(set) var submitRetries = 0
    /// Batches whose submission failed for good (their requests completed with IOERR).
    @exclusivity(unchecked) public private(set) var submitFailures = 0
    /// The errno of the last submission that failed for good, for a caller that wants to say why.
    public private(set) var lastSubmitError: Errno?
    /// Registered guest memory regions (buffer index = position), empty when not registered.
    @exclusivity(unchecked) private var fixedRegions: [(base: UInt, end: UInt)] = []
    private let fixedFile: Bool
    /// Requests sent as READ_FIXED/WRITE_FIXED, for statistics.
    @exclusivity(unchecked) public private(set) var fixedBufferRequests = 0
    private let faults: IOURingFaults?
    @exclusivity(unchecked) private var submitCalls = 0

    /// Submissions answered EAGAIN or EBUSY with nothing to reap and nothing in flight are tried
    /// this many times (yielding the CPU between tries) before their requests fail: the kernel
    /// is short of memory then, and an IOThread must not spin on it forever.
    static let idleSubmitRetries = 1000

    public var counters: BackendCounters {
        var c = BackendCounters()
        c.fixedBufferRequests = fixedBufferRequests
        c.resubmissions = resubmissions
        c.submitRetries = submitRetries
        c.submitFailures = submitFailures
        return c
    }

    /// - Parameter faults: test-only failures of io_uring_submit (nil in production).
    public init(target: BlockTarget, slots: Int, faults: IOURingFaults? = nil) throws {
        self.slots = slots
        self.target = target
        self.faults = faults
        fd = target.fd
        finished = SlotResults(capacity: slots)
        taken = SlotResults(capacity: slots)
        var entries: UInt32 = 1
        while entries < UInt32(min(max(slots, 8), 4096)) { entries <<= 1 }
        uring = try IOURing(entries: entries, path: target.path, purpose: "an IOThread's requests")
        ring = uring.ring
        eventFD = try OwnedDescriptor(checking: linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK), call: "eventfd",
                                      path: target.path, operation: "making the io_uring completion signal")
        let registered = io_uring_register_eventfd(ring, eventFD.rawValue)
        if registered < 0 {
            throw SystemCallError(call: "io_uring_register_eventfd", returned: registered, path: target.path,
                                  operation: "making the io_uring completion signal")
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
        // The ring (and its eventfd registration) goes with `uring`, the eventfd with `eventFD`.
        precondition(inFlight == 0, "io_uring backend destroyed with requests in flight")
        requests.deallocate()
        done.deallocate()
    }

    @inline(__always) private func nextSQE() -> UnsafeMutablePointer<io_uring_sqe> {
        if let sqe = io_uring_get_sqe(ring) { return sqe }
        // The submission queue is full: hand what is there to the kernel (or fail it), which
        // empties the queue either way, and take a fresh entry.
        flush()
        guard let sqe = io_uring_get_sqe(ring) else { preconditionFailure("io_uring: no submission entry after the queue was emptied") }
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
    }

    @inline(__always) public func submit(slot: Int, _ io: BlockIO) {
        requests[slot] = io
        done[slot] = 0
        inFlight += 1
        if target.isBlockDevice && (io.operation == .discard || io.operation == .writeZeroes) {
            // io_uring has no BLKDISCARD/BLKZEROOUT here; these are rare, so the IOThread does
            // them itself (QEMU hands them to its thread pool).
            finished.append(slot: slot, result: target.deallocate(io.operation, offset: io.offset, length: io.length))
            return
        }
        prepare(slot: slot)
    }

    public func submitPending() {
        if uring.unsubmitted > 0 { flush() }
    }

    /// Sends every prepared entry to the kernel, so that no request waits in the submission
    /// queue for a call that never comes. Every io_uring_submit result is checked:
    /// - EINTR: made again;
    /// - EAGAIN, EBUSY (the kernel is short of resources, or the completion queue is full):
    ///   completions are taken out of the ring (into `taken`, for `reap`), or, with none there
    ///   yet, one in flight is waited for, and the call is made again;
    /// - anything else, or EAGAIN that persists with nothing in flight: the entries the kernel
    ///   did not take are taken back and their requests complete with −errno (IOERR to the
    ///   guest); the ring stays usable for the next requests, so the device keeps serving.
    private func flush() {
        var idleTries = 0
        while uring.unsubmitted > 0 {
            submitCalls += 1
            let injected = faults?.submitResult(submitCalls)
            let rc = injected ?? io_uring_submit(ring)
            if rc > 0 {
                kernelInFlight += Int(rc)
                idleTries = 0
                continue
            }
            let error = rc == 0 ? EAGAIN : -rc  // nothing consumed: as if the kernel said "again"
            if error == EINTR {
                submitRetries += 1
                continue
            }
            if error == EAGAIN || error == EBUSY {
                submitRetries += 1
                if takeCompletions() > 0 { continue }
                if kernelInFlight > 0 {
                    // Nothing completed yet: wait for one, which frees what the kernel lacked.
                    var cqe: UnsafeMutablePointer<io_uring_cqe>?
                    if io_uring_wait_cqe(ring, &cqe) == 0 { _ = takeCompletions() }
                    continue
                }
                idleTries += 1
                if idleTries < Self.idleSubmitRetries {
                    sched_yield()
                    continue
                }
            }
            failUnsubmitted(errno: error)
        }
    }

    /// Moves every completion waiting in the ring into `taken`; returns how many.
    private func takeCompletions() -> Int {
        var count = 0
        var cqe: UnsafeMutablePointer<io_uring_cqe>?
        while io_uring_peek_cqe(ring, &cqe) == 0, let entry = cqe {
            taken.append(slot: Int(entry.pointee.user_data), result: entry.pointee.res)
            io_uring_cqe_seen(ring, entry)
            kernelInFlight -= 1
            count += 1
        }
        return count
    }

    /// The submission failed for good: the requests the kernel did not take complete with
    /// −errno, and the queue is empty again for the next ones.
    private func failUnsubmitted(errno error: Int32) {
        submitFailures += 1
        lastSubmitError = Errno(rawValue: error)
        uring.dropUnsubmitted { userData in
            let slot = Int(userData)
            precondition(slot < slots, "an io_uring entry with an unknown slot")
            finished.append(slot: slot, result: -error)
        }
    }

    public func reap(_ body: (Int, Int32) -> Void) -> Int {
        var count = 0
        repeat {
            var i = 0
            while i < finished.count {
                let (slot, result) = finished[i]
                inFlight -= 1
                body(slot, result)
                count += 1
                i += 1
            }
            finished.removeAll()
            i = 0
            // `complete` may resubmit, and a resubmission may take more completions: `taken`
            // can grow while it is walked.
            while i < taken.count {
                let (slot, result) = taken[i]
                if complete(slot: slot, result: result, body) { count += 1 }
                i += 1
            }
            taken.removeAll()
            var cqe: UnsafeMutablePointer<io_uring_cqe>?
            while io_uring_peek_cqe(ring, &cqe) == 0, let entry = cqe {
                let slot = Int(entry.pointee.user_data)
                let result = entry.pointee.res
                io_uring_cqe_seen(ring, entry)
                kernelInFlight -= 1
                if complete(slot: slot, result: result, body) { count += 1 }
            }
            // Resubmissions go out now; a failure among them is reported by this same call,
            // so nothing is left for a later pass that might sleep first.
            if uring.unsubmitted > 0 { flush() }
        } while !finished.isEmpty || !taken.isEmpty
        return count
    }

    /// Handles one completion from the ring: a retry or the rest of a short transfer is sent
    /// again (false), anything else is reported to `body` (true).
    @inline(__always) private func complete(slot: Int, result: Int32, _ body: (Int, Int32) -> Void) -> Bool {
        precondition(slot < slots, "io_uring returned an unknown slot")
        if result == -EAGAIN || result == -EINTR {
            resubmissions += 1
            prepare(slot: slot)
            return false
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
                return false
            }
            inFlight -= 1
            body(slot, Int32(truncatingIfNeeded: total))
        } else {
            inFlight -= 1
            body(slot, result == 0 && (io.operation == .read || io.operation == .write) && io.length > 0 ? -EIO : result)
        }
        return true
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

    public var hasCompletions: Bool { !finished.isEmpty || !taken.isEmpty || io_uring_cq_ready(ring) > 0 }
    public var completionFD: Int32 { eventFD.rawValue }

    public func clearCompletionSignal() {
        var value: UInt64 = 0
        _ = linux_eventfd_read(eventFD.rawValue, &value)
    }
}
