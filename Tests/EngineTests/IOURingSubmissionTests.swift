import CLinuxShim
import Foundation
import Layout
import SystemPackage
import SystemSupport
import Testing
import TestSupport
import Virtio
@testable import BlockBackend
@testable import Engine
#if canImport(Glibc)
import Glibc
#endif

/// Counts io_uring_submit calls and answers some of them with an injected errno.
final class SubmitScript: @unchecked Sendable {
    private let lock = NSLock()
    private let answers: [Int: Int32]
    private(set) var calls = 0
    init(_ answers: [Int: Int32]) { self.answers = answers }
    var faults: IOURingFaults {
        IOURingFaults { [self] call in
            lock.lock()
            defer { lock.unlock() }
            calls = max(calls, call)
            return answers[call]
        }
    }
}

/// 4 KiB O_DIRECT reads straight into aligned buffers, one per slot, through the backend alone.
final class ReadHarness {
    let target: BlockTarget
    let backend: IOURingBackend
    let slots: Int
    let data: UnsafeMutableRawPointer
    let segments: UnsafeMutablePointer<IOSegment>
    var results: [Int: Int32] = [:]

    init(dir: ScratchDirectory, slots: Int, faults: IOURingFaults?) throws {
        target = try BlockTarget(path: dir.file("disk.img"), size: 1 << 20)
        backend = try IOURingBackend(target: target, slots: slots, faults: faults)
        self.slots = slots
        data = UnsafeMutableRawPointer.allocate(byteCount: slots * 4096, alignment: 4096)
        segments = .allocate(capacity: slots)
    }

    deinit {
        data.deallocate()
        segments.deallocate()
    }

    func submit(_ range: Range<Int>) {
        for slot in range {
            segments[slot] = IOSegment(base: data + slot * 4096, length: 4096)
            backend.submit(slot: slot, BlockIO(operation: .read, offset: UInt64(slot) * 4096, length: 4096, iovecs: segments + slot, iovecCount: 1))
        }
        backend.submitPending()
    }

    /// Reaps until nothing is in flight (or 5 s pass, which fails the test instead of hanging).
    func reapAll() {
        let deadline = Date().addingTimeInterval(5)
        while backend.inFlight > 0 && Date() < deadline {
            _ = backend.reap { slot, result in results[slot] = result }
            if backend.inFlight > 0 { usleep(100) }
        }
        #expect(backend.inFlight == 0, "requests still in flight after 5 s: the submission hung")
    }
}

@Suite("io_uring submission failures")
struct IOURingSubmissionTests {
    @Test("a submit that fails for good fails only its own requests (IOERR), and the ring serves the next ones")
    func hardFailureFailsOnlyItsBatch() throws {
        let dir = ScratchDirectory()
        let script = SubmitScript([2: -EFAULT])
        let h = try ReadHarness(dir: dir, slots: 16, faults: script.faults)
        h.submit(0..<4)   // call 1: sent
        h.submit(4..<8)   // call 2: fails
        h.submit(8..<12)  // call 3: sent
        h.reapAll()
        #expect(h.results.count == 12)
        for slot in Array(0..<4) + Array(8..<12) { #expect(h.results[slot] == 4096, "slot \(slot): \(String(describing: h.results[slot]))") }
        for slot in 4..<8 { #expect(h.results[slot] == -EFAULT, "slot \(slot): \(String(describing: h.results[slot]))") }
        #expect(h.backend.submitFailures == 1)
        #expect(h.backend.lastSubmitError == .badAddress)
    }

    @Test("EAGAIN and EINTR from io_uring_submit are retried and every request completes")
    func againIsRetried() throws {
        let dir = ScratchDirectory()
        // Calls 1-3 of the first batch with nothing in flight; call 5 while the second batch's
        // predecessor is in the kernel (the backend takes its completions, then retries).
        let script = SubmitScript([1: -EAGAIN, 2: -EINTR, 3: -EBUSY, 5: -EAGAIN])
        let h = try ReadHarness(dir: dir, slots: 16, faults: script.faults)
        h.submit(0..<8)
        h.submit(8..<16)
        h.reapAll()
        #expect(h.results.count == 16)
        #expect(h.results.values.allSatisfy { $0 == 4096 }, "\(h.results)")
        #expect(h.backend.submitFailures == 0)
        #expect(h.backend.submitRetries == 4)
    }

    @Test("through the engine: the failed batch's requests reach the guest as IOERR, the rest OK, and the run ends")
    func engineReportsIOErrorAndServesOn() throws {
        let dir = ScratchDirectory()
        let capacity: UInt64 = 4 << 20
        let target = try BlockTarget(path: dir.file("disk.img"), size: capacity)
        let job = EngineJob(devices: [VirtioBlkDeviceConfig(numQueues: 1, capacitySectors: capacity / 512)],
                            layout: .single(numQueues: 1), backend: .ioUring, target: nil, depth: 4, maxBlock: 4096, duration: nil)
        let devices = try Engine.makeDevices(for: job)
        let script = SubmitScript([3: -EIO])
        let requests = (0..<200).map { PlannedRequest(type: .read, sector: UInt64($0 % 64) * 8, length: 4096) }
        let source = ScriptedSource(requests)
        let result = try Engine.run(job, devices: devices, source: { _, _ in source }) { slots in
            try IOURingBackend(target: target, slots: slots, faults: script.faults)
        }
        let statuses = source.log.statuses
        #expect(statuses.count == 200, "every request completed")
        let failed = statuses.filter { $0 == VirtioBlkStatus.ioError.rawValue }.count
        #expect(failed >= 1 && failed <= 4, "only the failed batch (at most the queue depth): \(failed)")
        #expect(statuses.filter { $0 == VirtioBlkStatus.ok.rawValue }.count == 200 - failed)
        #expect(result.brokenDevices.isEmpty && result.failures.isEmpty)
        #expect(script.calls > 3, "the ring kept submitting after the failure")
    }

    @Test("a ring the kernel refuses says what to change")
    func setupFailureNamesTheKnob() throws {
        // 2^20 entries is past the kernel's limit (32768): io_uring_setup says EINVAL.
        #expect {
            _ = try IOURing(entries: 1 << 20, path: "/tmp/example.img", purpose: "a test")
        } throws: { error in
            guard let error = error as? SystemCallError else { return false }
            let text = error.description
            return error.call == "io_uring_queue_init" && error.errno == .invalidArgument
                && text.contains("/tmp/example.img") && text.contains("1048576 entries") && text.contains("use a smaller --qd")
        }
    }

    @Test("the setup advice names the setting for each errno users meet")
    func setupAdvice() {
        let disabled = IOURingSetupAdvice.advice(for: .notPermitted, entries: 64, disabledSetting: 2) ?? ""
        #expect(disabled.contains("sysctl kernel.io_uring_disabled=2") && disabled.contains("set it to 0") && disabled.contains("--backend threads"))
        let noSyscall = IOURingSetupAdvice.advice(for: .noFunction, entries: 64, disabledSetting: nil) ?? ""
        #expect(noSyscall.contains("seccomp") && noSyscall.contains("--backend threads"))
        let memory = IOURingSetupAdvice.advice(for: .noMemory, entries: 64) ?? ""
        #expect(memory.contains("RLIMIT_MEMLOCK") && memory.contains("ulimit -l"))
        let files = IOURingSetupAdvice.advice(for: .tooManyOpenFiles, entries: 64) ?? ""
        #expect(files.contains("ulimit -n"))
        #expect(IOURingSetupAdvice.advice(for: .ioError, entries: 64) == nil)
    }

    @Test("a target whose setup fails after open closes its descriptor (no leak)")
    func failedTargetOpenLeaksNothing() throws {
        let dir = ScratchDirectory()
        let before = openFileCount()
        for i in 0..<200 {
            // Opened, then refused: growing it needs more space than any filesystem here has.
            #expect(throws: BlockTargetError.self) { _ = try BlockTarget(path: dir.file("huge-\(i).img"), size: 1 << 60) }
        }
        let after = openFileCount()
        // Other suites run alongside and open files too; 200 leaked descriptors cannot hide in that.
        #expect(after - before < 50, "descriptors before \(before), after \(after)")
    }
}
