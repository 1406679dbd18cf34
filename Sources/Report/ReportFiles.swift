import Foundation

extension ReportModel {
    /// The report as JSON text: every number, sorted keys.
    public func jsonText() throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: json(), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    /// The three files `write(htmlPath:)` writes: NAME.html, NAME.md and NAME.json.
    public static func files(htmlPath: String) -> [(path: String, format: ReportFormat)] {
        let base = (htmlPath as NSString).deletingPathExtension
        return [(base + ".html", .html), (base + ".md", .md), (base + ".json", .json)]
    }

    /// Checks that none of the three files is taken by something other than a vqtrace report
    /// (unless `force`): a sweep calls it before its first run.
    public static func checkFiles(htmlPath: String, force: Bool) throws {
        for file in files(htmlPath: htmlPath) { try ReportFile.check(file.path, force: force) }
    }

    /// The report in `format`.
    public func text(_ format: ReportFormat) throws -> String {
        switch format {
        case .html: return html()
        case .md: return markdown()
        case .json: return try jsonText()
        }
    }

    /// Writes the report next to `htmlPath` in every format, NAME.html, NAME.md and NAME.json
    /// (each whole or not at all, `ReportFile`), making the folder; returns the three paths.
    /// Refuses, before writing any, when one of them is a file that is not a vqtrace report,
    /// unless `force`.
    @discardableResult
    public func write(htmlPath: String, force: Bool = false) throws -> [String] {
        let files = Self.files(htmlPath: htmlPath)
        try Self.checkFiles(htmlPath: htmlPath, force: force)
        for file in files { try ReportFile.write(try text(file.format), format: file.format, to: file.path, force: force) }
        return files.map(\.path)
    }
}
