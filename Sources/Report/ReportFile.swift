import Foundation
import Units
#if canImport(Glibc)
import Glibc
#endif

/// The formats a report is written in, and how an output name picks one.
public enum ReportFormat: String, Sendable, CaseIterable {
    case html, md, json

    /// The format an output name's extension asks for: .html/.htm, .md/.markdown/.txt (the
    /// text report is Markdown), .json; nil for any other extension.
    public init?(extensionOf path: String) {
        switch (path as NSString).pathExtension.lowercased() {
        case "html", "htm": self = .html
        case "md", "markdown", "txt": self = .md
        case "json": self = .json
        default: return nil
        }
    }

    /// The format of `path`, or a usage mistake that names the extensions there are.
    public static func of(output path: String) throws(ReportFileError) -> ReportFormat {
        guard let format = ReportFormat(extensionOf: path) else { throw .unknownExtension(path: path) }
        return format
    }
}

/// Why a report file was not written.
public enum ReportFileError: Error, UsageMistake, Equatable, Sendable {
    /// The name is taken by a file vqtrace did not write as a report (no generator mark).
    case notAReport(path: String)
    /// The output's extension names no report format.
    case unknownExtension(path: String)
    /// The name is a folder, or its folder cannot be made.
    case badPath(path: String, reason: String)
    /// Writing or renaming failed.
    case system(path: String, call: String, errno: Int32)

    public var isUsageMistake: Bool {
        if case .system = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .notAReport(let path):
            return "\(path) exists and is not a vqtrace report; choose another name, or pass --force to replace it"
        case .unknownExtension(let path):
            let ext = (path as NSString).pathExtension
            return "\(path): \(ext.isEmpty ? "no extension" : "unknown extension .\(ext)") to pick the report's format from; use .html, .md (or .txt) or .json"
        case .badPath(let path, let reason):
            return "\(path): \(reason)"
        case .system(let path, let call, let errno):
            return "\(path): \(call) failed: \(String(cString: strerror(errno)))"
        }
    }
}

/// Report files as vqtrace writes them: whole or not at all (NAME.partial, then renamed), each
/// carrying a generator mark, and never over a file that lacks that mark unless forced, so that
/// a mistyped `--out` does not eat someone's notes.
public enum ReportFile {
    /// What every report, comparison and trace page says it was made by.
    public static let generator = "vqtrace-report"
    /// The mark in an HTML page's head.
    public static let htmlMark = "<meta name=\"generator\" content=\"vqtrace-report\">"
    /// The mark a Markdown file ends with (an HTML comment, which Markdown does not show).
    public static let markdownMark = "<!-- generator: vqtrace-report -->"

    /// Whether `text` is a report vqtrace wrote: one of the marks, a JSON `"generator":
    /// "vqtrace-report"`, or a report written before the marks (the HTML footer, the Markdown
    /// outcome line, the JSON's outcome and margin), so that a sweep may replace its own old files.
    public static func isReport(_ text: String) -> Bool {
        if text.contains(htmlMark) || text.contains(markdownMark) || text.contains("<p>Made by vqtrace.</p>") { return true }
        if text.range(of: #""generator"\s*:\s*"vqtrace-report""#, options: .regularExpression) != nil { return true }
        if text.hasPrefix("# ") && (text.contains("\nOutcome: **") || text.hasPrefix("# IOThread layouts across hosts")) { return true }
        return text.hasPrefix("{") && text.contains("\"outcome\"") && text.contains("\"equivalence_margin\"")
    }

    /// Checks that a report may go to `path`: the name is free, holds a vqtrace report, or
    /// `force` says to replace whatever is there. Call it before long work.
    public static func check(_ path: String, force: Bool) throws(ReportFileError) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return }
        if isFolder.boolValue { throw .badPath(path: path, reason: "is a folder; name a file") }
        if force { return }
        // Reports are kilobytes; a big file is not one.
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .notAReport(path: path) }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 16 << 20)) ?? Data()
        if !isReport(String(decoding: head, as: UTF8.self)) { throw .notAReport(path: path) }
    }

    /// Writes `text` to `path` in `format` (Markdown gets its mark appended), making the folder:
    /// the bytes go to NAME.partial and are renamed to NAME when complete.
    public static func write(_ text: String, format: ReportFormat, to path: String, force: Bool) throws(ReportFileError) {
        try check(path, force: force)
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw .badPath(path: path, reason: "its folder \(folder) cannot be made")
            }
        }
        let body = format == .md && !text.contains(markdownMark) ? text + (text.hasSuffix("\n") ? "" : "\n") + "\n" + markdownMark + "\n" : text
        let partial = path + ".partial"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw .system(path: partial, call: "open", errno: errno) }
        let bytes = Array(body.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let error = errno
                close(fd)
                unlink(partial)
                throw .system(path: partial, call: "write", errno: error)
            }
            written += n
        }
        close(fd)
        if rename(partial, path) != 0 {
            let error = errno
            unlink(partial)
            throw .system(path: path, call: "rename", errno: error)
        }
    }
}
