#if canImport(Glibc)
import Glibc
#endif

/// A text file written in 1 MiB blocks, first under `NAME.partial` and renamed when committed, so
/// that a failed export leaves nothing behind and never clobbers an existing file.
final class TextOutput {
    let path: String
    private let partial: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    init(path: String) throws(ImportError) {
        self.path = path
        partial = path + ".partial"
        fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw ImportError(path: path, line: 0, problem: "cannot create: \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(1 << 20 + 4096)
    }

    deinit {
        close(fd)
        if !committed { unlink(partial) }
    }

    func write(_ text: String) throws(ImportError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Writes everything and moves the file to its name.
    func commit() throws(ImportError) {
        try flush()
        guard fsync(fd) == 0, rename(partial, path) == 0 else {
            throw ImportError(path: path, line: 0, problem: "cannot finish: \(String(cString: strerror(errno)))")
        }
        committed = true
    }

    private func flush() throws(ImportError) {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImportError(path: path, line: 0, problem: "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
