import CLibURing
import SystemPackage
import SystemSupport
#if os(Linux)
import Glibc
#endif

/// One io_uring instance, owned: set up in `init` (with a failure that says what to change),
/// torn down in `deinit`. The `io_uring` struct lives at a fixed heap address, since liburing
/// keeps pointers into it (PLATFORM.md). One thread uses a ring at a time.
final class IOURing {
    let ring: UnsafeMutablePointer<io_uring>
    let entries: UInt32

    /// - Parameters:
    ///   - entries: submission queue entries (a power of two up to 32768).
    ///   - path: the target the ring serves, for the error message.
    ///   - purpose: what the ring is for ("the IOThread's requests", "the fill").
    init(entries: UInt32, path: String?, purpose: String) throws(SystemCallError) {
        self.entries = entries
        // Set up in a local first: once every stored property is set, a throw would run
        // deinit, which must only ever see a ring that was initialized.
        let ring = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
        let rc = io_uring_queue_init(entries, ring, 0)
        if rc < 0 {
            ring.deallocate()
            let errno = Errno(rawValue: -rc)
            throw SystemCallError(call: "io_uring_queue_init", errno: errno, path: path,
                                  operation: "setting up an io_uring of \(entries) entries for \(purpose)",
                                  advice: IOURingSetupAdvice.advice(for: errno, entries: entries))
        }
        self.ring = ring
        // The submission-queue rewind in `dropUnsubmitted` is only sound without SQPOLL (then the
        // kernel reads the queue only inside our own io_uring_enter calls).
        precondition(ring.pointee.flags & UInt32(IORING_SETUP_SQPOLL) == 0, "vqtrace's rings never use SQPOLL")
    }

    deinit {
        io_uring_queue_exit(ring)
        ring.deallocate()
    }

    /// Entries prepared (by `io_uring_get_sqe`) that the kernel has not consumed.
    var unsubmitted: UInt32 { ring.pointee.sq.sqe_tail &- ring.pointee.sq.khead.pointee }

    /// Takes every prepared entry the kernel has not consumed back out of the submission queue,
    /// calling `body(user_data)` for each: after io_uring_enter failed for good, they would
    /// otherwise be sent again with the next submission, or never complete.
    func dropUnsubmitted(_ body: (UInt64) -> Void) {
        let sq = ring.pointee.sq
        let head = sq.khead.pointee
        var index = head
        while index != sq.sqe_tail {
            body(sq.sqes[Int(index & sq.ring_mask)].user_data)
            index &+= 1
        }
        sq.ktail.pointee = head
        ring.pointee.sq.sqe_head = head
        ring.pointee.sq.sqe_tail = head
    }
}
