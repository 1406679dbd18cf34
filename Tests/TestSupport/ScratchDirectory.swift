import Foundation

/// A temporary folder for one test, named after it, removed when the test lets go of it.
public final class ScratchDirectory {
    public let path: String

    public init(_ label: String = #function) {
        let name = "vqtrace-\(label.filter { $0.isLetter || $0.isNumber })-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        path = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the folder.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name` inside the folder and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) -> String {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(text.utf8))
        return file(name)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
