import CLinuxShim
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// Why an output file could not be started or published.
public enum PartialFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The final name is taken and the caller did not ask to replace it.
    case exists(path: String)
    /// Another process holds the partial file: it is writing the same output right now.
    case busy(partialPath: String)
    /// A partial file is left over from a writer that was killed; it may hold data worth keeping.
    case leftover(partialPath: String, bytes: UInt64)
    /// The folder the file goes into does not exist.
    case noFolder(path: String, folder: String)
    /// A system call failed, naming the file and the call.
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .exists(let path):
            return "\(path) exists; pass --force to replace it"
        case .busy(let partial):
            return "\(partial) is being written by another process right now; wait for it or choose another name"
        case .leftover(let partial, let bytes):
            return "\(partial) (\(bytes) bytes) is left over from a writer that did not finish; if it is a trace, its completed chunks are readable "
                + "(vqtrace traces repair \(partial) --out NEW.vqt); remove it, or pass --force to overwrite it"
        case .noFolder(let path, let folder):
            return "\(path): the folder \(folder) does not exist"
        case .system(let error):
            return error.description
        }
    }
}

/// A file that appears under its name only when it is complete.
///
/// It is written as `NAME.partial` (locked with flock, so that a second writer of the same name
/// fails at once instead of interleaving its bytes with ours) and renamed to NAME by `publish()`.
/// Without `replaceExisting` the rename refuses to replace a file that appeared meanwhile
/// (RENAME_NOREPLACE): of two writers racing for one name, the second learns it lost.
/// A writer that is abandoned (an error, an interruption) removes its partial file; one that is
/// killed leaves it, and the next writer of that name refuses to overwrite it without
/// `replaceExisting`, since it may be a recording worth recovering.
public final class PartialFile {
    /// The name the file gets when published.
    public let path: String
    /// Where the bytes go until then.
    public let partialPath: String
    public let replaceExisting: Bool
    /// Keep the partial file when abandoned by deinit (a recording whose chunks are worth more
    /// than a clean folder). `abandon()` always removes it.
    public var keepOnDeinit = false
    /// Open while writing; -1 once published or abandoned.
    public private(set) var fd: Int32
    public private(set) var isPublished = false

    /// The checks `init` makes before it creates anything (the folder exists, the name is free
    /// or may be replaced), for a command that should fail before long work, not after it.
    public static func check(path: String, replaceExisting: Bool) throws(PartialFileError) {
        let folder = Self.folder(of: path)
        var st = stat()
        if stat(folder, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR { throw .noFolder(path: path, folder: folder) }
        if !replaceExisting && access(path, F_OK) == 0 { throw .exists(path: path) }
    }

    /// For a command about to write `path`: makes its folder (like `mkdir -p`) and runs
    /// `check`, so that a missing folder or a taken name is an error before any work starts.
    public static func prepareOutput(_ path: String, replaceExisting: Bool) throws(PartialFileError) {
        let folder = Self.folder(of: path)
        if folder != "." && mkdirParents(folder) != 0 { throw .noFolder(path: path, folder: folder) }
        try check(path: path, replaceExisting: replaceExisting)
    }

    /// `mkdir -p`: 0, or -1 when a part cannot be made.
    static func mkdirParents(_ folder: String) -> Int32 {
        var st = stat()
        if stat(folder, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR ? 0 : -1 }
        let parent = Self.folder(of: folder)
        if parent != folder && parent != "." && mkdirParents(parent) != 0 { return -1 }
        return mkdir(folder, 0o755) == 0 || errno == EEXIST ? 0 : -1
    }

    public init(path: String, replaceExisting: Bool) throws(PartialFileError) {
        self.path = path
        self.replaceExisting = replaceExisting
        partialPath = path + ".partial"
        try Self.check(path: path, replaceExisting: replaceExisting)
        var st = stat()
        var opened: Int32 = -1
        while opened < 0 {
            let candidate = open(partialPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if candidate < 0 { throw .system(.last("open", path: partialPath, operation: "cannot create it")) }
            if linux_try_lock_exclusive(candidate) != 0 {
                let error = SystemCallError.last("flock", path: partialPath, operation: "locking it")
                close(candidate)
                if error.errno == .wouldBlock { throw .busy(partialPath: partialPath) }
                throw .system(error)
            }
            // The lock holder may have published (renamed) the file between our open and our
            // lock: then we hold the published file, not the partial one. Start again.
            var held = stat()
            var named = stat()
            fstat(candidate, &held)
            if stat(partialPath, &named) == 0 && named.st_ino == held.st_ino && named.st_dev == held.st_dev {
                opened = candidate
            } else {
                close(candidate)
            }
        }
        fstat(opened, &st)
        if st.st_size > 0 && !replaceExisting {
            close(opened)
            throw .leftover(partialPath: partialPath, bytes: UInt64(st.st_size))
        }
        if ftruncate(opened, 0) != 0 {
            let error = SystemCallError.last("ftruncate", path: partialPath, operation: "emptying it")
            close(opened)
            throw .system(error)
        }
        fd = opened
    }

    deinit {
        guard fd >= 0 else { return }
        if keepOnDeinit { close(fd) } else { abandon() }
    }

    /// Makes the file visible under its name: flushes it to stable storage when `sync` is set
    /// (then the folder too, so that the rename itself survives a power loss), renames it and
    /// closes it. A name taken meanwhile (without `replaceExisting`) throws `.exists` and
    /// removes the partial file.
    public func publish(sync: Bool) throws(PartialFileError) {
        precondition(fd >= 0, "publish() of a file already published or abandoned")
        if sync && fsync(fd) != 0 { throw .system(.last("fsync", path: partialPath)) }
        let renamed = replaceExisting ? rename(partialPath, path) : linux_rename_noreplace(partialPath, path)
        if renamed != 0 {
            let error = SystemCallError.last("rename", path: path, operation: "publishing it from \(partialPath)")
            abandon()
            if error.errno == .fileExists { throw .exists(path: path) }
            throw .system(error)
        }
        if sync {
            let directory = open(Self.folder(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directory >= 0 {
                _ = fsync(directory)
                close(directory)
            }
        }
        let closed = close(fd)
        fd = -1
        isPublished = true
        if closed != 0 { throw .system(.last("close", path: path)) }
    }

    /// Gives up: closes and removes the partial file (never the published name).
    public func abandon() {
        guard fd >= 0 else { return }
        unlink(partialPath)
        close(fd)
        fd = -1
    }

    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
