import Foundation
import SystemPackage
import SystemSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("OwnedDescriptor and SystemCallError")
struct OwnedDescriptorTests {
    static func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) != -1 }

    @Test("a descriptor closes itself when its owner goes, and release() hands it over open")
    func closesItself() throws {
        var raw: Int32 = -1
        do {
            let owned = try OwnedDescriptor.open("/proc/self/stat", flags: O_RDONLY | O_CLOEXEC)
            raw = owned.rawValue
            #expect(Self.isOpen(raw))
        }
        #expect(!Self.isOpen(raw), "descriptor \(raw) still open after its owner went")

        let kept = try OwnedDescriptor.open("/proc/self/stat", flags: O_RDONLY | O_CLOEXEC).release()
        #expect(Self.isOpen(kept.rawValue))
        try kept.close()
    }

    @Test("a failed open throws the call, the errno and the path, and leaves nothing open")
    func failedOpen() {
        let before = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        for _ in 0..<100 {
            #expect {
                _ = try OwnedDescriptor.open("/nonexistent/vqtrace-test", flags: O_RDONLY, operation: "cannot open it")
            } throws: { error in
                guard let error = error as? SystemCallError else { return false }
                return error.call == "open" && error.errno == .noSuchFileOrDirectory
                    && error.description == "/nonexistent/vqtrace-test: cannot open it: open failed: No such file or directory (errno 2)"
            }
        }
        let after = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        #expect(after - before < 20)
    }

    @Test("errors from calls that return an errno value or −errno carry it, with advice last")
    func returnedCodes() {
        let negative = SystemCallError(call: "io_uring_submit", returned: -EAGAIN, path: "/x")
        #expect(negative.errno == .resourceTemporarilyUnavailable)
        let positive = SystemCallError(call: "posix_fallocate", returned: ENOSPC, path: "/x", operation: "cannot allocate", advice: "free some space")
        #expect(positive.errno == .noSpace)
        #expect(positive.description.hasSuffix("(errno \(ENOSPC)); free some space"))
    }
}
