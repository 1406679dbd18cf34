import Foundation
import Trace
import Units

extension ImportFormat: NamedChoice {}
extension VQMap: NamedChoice {}
extension ImportTimeUnit: NamedChoice {}

/// One import as `vqtrace import` makes it: the settings checked before anything is read, the
/// output prepared, the format named or detected, the files imported, and what that did. A
/// program does the same with one call; the CLI only parses its options into this and prints.
public struct ImportJob {
    public var files: [String]
    public var out: String
    /// A format's name, or "auto": detected from the first lines of the first file.
    public var format = "auto"
    /// vqs per device (nil: the format's default).
    public var queues: Int?
    public var vqMap: VQMap?
    public var capacityBytes: UInt64?
    public var timeUnitNs: UInt64?
    public var skipBadLines = false
    /// Replace an existing output (otherwise it is refused before anything is read).
    public var replaceExisting = false
    public var shouldStop: (() -> Bool)?

    public init(files: [String], out: String) {
        self.files = files
        self.out = out
    }

    /// Every setting checked; the error names the setting (format, queues, capacity, files) and
    /// the value, and suggests the nearest format for a misspelled one.
    public func validate() throws(OptionError) {
        if format != "auto" && ImportFormat(rawValue: format) == nil {
            throw .notAChoice(option: "format", value: format, choices: ["auto"] + ImportFormat.names)
        }
        if let queues, !(1...1024).contains(queues) { throw OptionError(option: "queues", value: "\(queues)", problem: "must be 1...1024") }
        if let capacityBytes, let problem = ByteSize(bytes: capacityBytes).problem("it", atLeast: 1 << 20, multipleOf: 512) {
            throw OptionError(option: "capacity", value: "\(ByteSize(bytes: capacityBytes))", problem: String(problem.dropFirst(3).split(separator: ";").first ?? ""))
        }
        guard !files.isEmpty else { throw OptionError(option: "files", value: "", problem: "name at least one file to import") }
    }

    /// The format to read: the named one, or the one detected in the first file (`note` says
    /// which, and from how many lines).
    public func chosenFormat(note: (String) -> Void) throws -> ImportFormat {
        if let named = ImportFormat(rawValue: format) { return named }
        let detected = try ImportFormat.detect(path: files[0])
        note("format: \(detected.format.rawValue) (\(detected.format.summary)), detected from the first \(detected.lines) lines of \(files[0])")
        return detected.format
    }

    /// Imports `files` into `out`: checked, the output prepared (an existing file refused unless
    /// `replaceExisting`), the format chosen, both passes run (`progress` gets 0...2000 over
    /// them). A failure leaves no file.
    public func run(note: (String) -> Void = Console.note, progress: ((Int) -> Void)? = nil) throws -> ImportReport {
        try validate()
        try PartialFile.prepareOutput(out, replaceExisting: replaceExisting)
        var importer = TraceImporter(format: try chosenFormat(note: note))
        importer.queues = queues
        importer.vqMap = vqMap
        importer.capacityBytes = capacityBytes
        importer.timeUnitNs = timeUnitNs
        importer.skipBadLines = skipBadLines
        importer.replaceExisting = replaceExisting
        importer.shouldStop = shouldStop
        if let progress {
            importer.progress = { pass, done, total in progress((pass - 1) * 1000 + Int(Double(done) / Double(max(total, 1)) * 1000)) }
        }
        let started = Date()
        let result = try importer.run(paths: files, out: out)
        return ImportReport(result: result, files: files, out: out, seconds: Date().timeIntervalSince(started))
    }
}
