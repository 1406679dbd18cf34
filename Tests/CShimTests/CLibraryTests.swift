import CLibURing
import CLinuxShim
import CZstd
import Foundation
import Testing

/// The C targets later modules build on, exercised for real: io_uring reads a file opened with
/// O_DIRECT, zstd round-trips a buffer, eventfd counts, a thread is pinned.
@Suite("C library shims")
struct CLibraryTests {
    @Test("io_uring reads back what was written, through O_DIRECT")
    func ioUringDirectRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vqtrace-cshim-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("disk.img").path
        var pattern = [UInt8](repeating: 0, count: 64 * 1024)
        for i in pattern.indices { pattern[i] = UInt8(truncatingIfNeeded: i / 512 &* 31 &+ i) }
        try Data(pattern).write(to: URL(fileURLWithPath: path))

        let fd = open(path, O_RDONLY | linux_O_DIRECT)
        try #require(fd >= 0, "open O_DIRECT failed: errno \(errno) (tmpfs does not support O_DIRECT)")
        defer { close(fd) }
        let ring = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)  // fixed heap address
        defer { ring.deallocate() }
        #expect(io_uring_queue_init(8, ring, 0) == 0)
        defer { io_uring_queue_exit(ring) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { buffer.deallocate() }
        let sqe = try #require(io_uring_get_sqe(ring))
        io_uring_prep_read(sqe, fd, buffer, 4096, 8192)
        io_uring_sqe_set_data64(sqe, 42)
        #expect(io_uring_submit(ring) == 1)
        var cqe: UnsafeMutablePointer<io_uring_cqe>? = nil
        #expect(io_uring_wait_cqe(ring, &cqe) == 0)
        let completion = try #require(cqe)
        #expect(completion.pointee.res == 4096)
        #expect(completion.pointee.user_data == 42)
        io_uring_cqe_seen(ring, completion)
        #expect(Array(UnsafeRawBufferPointer(start: buffer, count: 4096)) == Array(pattern[8192..<12288]))
    }

    @Test("zstd compresses and decompresses to the same bytes")
    func zstdRoundTrip() throws {
        var input = [UInt8]()
        for i in 0..<100_000 { input.append(UInt8(truncatingIfNeeded: (i * 7) % 251)) }
        var compressed = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let compressedSize = compressed.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { ZSTD_compress(out.baseAddress, out.count, $0.baseAddress, $0.count, 3) }
        }
        #expect(ZSTD_isError(compressedSize) == 0)
        #expect(compressedSize < input.count / 10)
        var output = [UInt8](repeating: 0, count: input.count)
        let size = output.withUnsafeMutableBytes { out in
            compressed.withUnsafeBytes { ZSTD_decompress(out.baseAddress, out.count, $0.baseAddress, compressedSize) }
        }
        #expect(size == input.count)
        #expect(output == input)
    }

    @Test("eventfd counts writes until read")
    func eventfdCounts() throws {
        let fd = linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(linux_eventfd_write(fd, 3) == 0)
        #expect(linux_eventfd_write(fd, 4) == 0)
        var value: UInt64 = 0
        #expect(linux_eventfd_read(fd, &value) == 0)
        #expect(value == 7)
        #expect(linux_eventfd_read(fd, &value) == -1)  // empty, non-blocking: EAGAIN
        #expect(errno == EAGAIN)
    }

    @Test("a thread can be pinned to CPU 0 and runs there")
    func pinning() throws {
        final class Box: @unchecked Sendable { var result: Int32 = -1; var cpu: Int32 = -1 }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var cpus: [Int32] = [0]
            box.result = linux_pin_current_thread(&cpus, 1)
            box.cpu = linux_current_cpu()
            done.signal()
        }
        done.wait()
        #expect(box.result == 0)
        #expect(box.cpu == 0)
        var bad: [Int32] = [-1]
        #expect(linux_pin_current_thread(&bad, 1) == EINVAL)
    }
}
