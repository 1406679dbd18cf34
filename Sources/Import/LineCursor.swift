#if canImport(Glibc)
import Glibc
#endif

/// Reads a text file one line at a time with bounded memory, whatever the file's size: a 1 MiB
/// buffer, grown only for a line longer than that, up to `maxLineBytes`.
///
/// Pull-based (rather than a callback) so that the importer can merge several files by time. A
/// line handed out stays valid until the next call; it has no newline and no trailing CR.
final class LineCursor {
    static let maxLineBytes = 16 << 20

    let path: String
    private let fd: Int32
    // One importing thread, per-line hot loop: no runtime exclusivity checks.
    @exclusivity(unchecked) private var buffer: UnsafeMutableRawBufferPointer
    @exclusivity(unchecked) private var start = 0
    @exclusivity(unchecked) private var end = 0
    @exclusivity(unchecked) private var atEOF = false
    /// The 1-based number of the line last returned.
    @exclusivity(unchecked) private(set) var lineNumber = 0
    /// Bytes consumed so far (for progress).
    @exclusivity(unchecked) private(set) var bytesRead: UInt64 = 0
    /// The file's size when opened.
    let fileSize: UInt64

    init(path: String) throws(ImportError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let error = errno
            // A path that is not there or not readable is the command line's mistake.
            throw ImportError(path: path, line: 0, problem: "cannot open for reading: \(String(cString: strerror(error)))",
                              usage: [ENOENT, ENOTDIR, EACCES, ENAMETOOLONG, ELOOP].contains(error))
        }
        var info = stat()
        fileSize = fstat(fd, &info) == 0 ? UInt64(info.st_size) : 0
        if fileSize > 0 { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) }
        buffer = .allocate(byteCount: 1 << 20, alignment: 64)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// The next line, or nil at the end of the file.
    func next() throws(ImportError) -> UnsafeRawBufferPointer? {
        while true {
            if start < end, let newline = memchr(buffer.baseAddress! + start, 0x0A, end - start) {
                let stop = buffer.baseAddress!.distance(to: newline)
                return take(upTo: stop, skip: 1)
            }
            if atEOF {
                return start < end ? take(upTo: end, skip: 0) : nil
            }
            try fill()
        }
    }

    private func take(upTo stop: Int, skip: Int) -> UnsafeRawBufferPointer {
        var last = stop
        if last > start && buffer[last - 1] == 0x0D { last -= 1 }
        let line = UnsafeRawBufferPointer(rebasing: buffer[start..<last])
        start = stop + skip
        lineNumber += 1
        return line
    }

    /// Moves the unread tail to the front and reads more, growing the buffer for a long line.
    private func fill() throws(ImportError) {
        if start > 0 {
            let tail = end - start
            if tail > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, tail) }
            start = 0
            end = tail
        }
        if end == buffer.count {
            guard buffer.count < Self.maxLineBytes else {
                throw ImportError(path: path, line: lineNumber + 1, problem: "line longer than \(Self.maxLineBytes >> 20) MiB: not a text trace")
            }
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 64)
            grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
            buffer.deallocate()
            buffer = grown
        }
        let n = read(fd, buffer.baseAddress! + end, buffer.count - end)
        if n < 0 {
            if errno == EINTR { return }
            throw ImportError(path: path, line: lineNumber + 1, problem: "read failed: \(String(cString: strerror(errno)))")
        }
        if n == 0 { atEOF = true }
        end += n
        bytesRead += UInt64(n)
    }
}
