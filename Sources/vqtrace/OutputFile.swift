import ArgumentParser
import Foundation
import Trace

/// The files commands write (traces, exports): checked before any work starts, so that a
/// missing folder or an existing file is an error at once, not after a long pass.
enum OutputFile {
    /// Makes the folder of `path` (like `mkdir -p`) and refuses an existing file unless `force`.
    static func prepare(_ path: String, force: Bool) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        // A name that is taken is the user's choice to change: a usage error (exit 2).
        do { try PartialFile.check(path: path, replaceExisting: force) } catch { throw ValidationError(error.description) }
    }

    /// The help of every `--force`.
    static let forceHelp: ArgumentHelp = "Replace the output file if it exists (a catalogued trace replaced this way gets a new catalog id; runs of the old one keep their results)."
}
