#if canImport(Glibc)
import Glibc
#endif
#if canImport(Trace)
import Trace
#endif

/// A text file written in 1 MiB blocks as a `PartialFile`: it appears under its name only when
/// committed, so that a failed or interrupted export leaves nothing behind and never clobbers an
/// existing file (unless `replaceExisting`).
final class TextOutput {
    let path: String
    private let file: PartialFile
    // One exporting thread, appended per line: no runtime exclusivity check.
    @exclusivity(unchecked) private var buffer: [UInt8] = []

    init(path: String, replaceExisting: Bool) throws(ImportError) {
        self.path = path
        do { file = try PartialFile(path: path, replaceExisting: replaceExisting) } catch {
            throw ImportError(path: path, line: 0, problem: "cannot create: \(error)")
        }
        buffer.reserveCapacity(1 << 20 + 4096)
    }

    func write(_ text: String) throws(ImportError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Writes everything and moves the file to its name.
    func commit() throws(ImportError) {
        try flush()
        do { try file.publish(sync: true) } catch { throw ImportError(path: path, line: 0, problem: "cannot finish: \(error)") }
    }

    private func flush() throws(ImportError) {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(file.fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImportError(path: path, line: 0, problem: "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
