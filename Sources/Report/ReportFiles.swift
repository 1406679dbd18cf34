import Foundation

extension ReportModel {
    /// The report as JSON text: every number, sorted keys.
    public func jsonText() throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: json(), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    /// Writes the report next to `htmlPath` in every format, NAME.html, NAME.md and NAME.json
    /// (each whole or not at all), making the folder; returns the three paths.
    @discardableResult
    public func write(htmlPath: String) throws -> [String] {
        let base = (htmlPath as NSString).deletingPathExtension
        let directory = (htmlPath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let files = [(base + ".html", html()), (base + ".md", markdown()), (base + ".json", try jsonText())]
        for (path, text) in files { try text.write(toFile: path, atomically: true, encoding: .utf8) }
        return files.map(\.0)
    }
}
