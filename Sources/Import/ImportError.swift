/// An import or export error that points at the line: `FILE:LINE: what is wrong`.
public struct ImportError: Error, CustomStringConvertible, Sendable {
    public let path: String
    /// 1-based; 0 when the problem is the file as a whole.
    public let line: Int
    public let problem: String
    /// Whether the user fixes it in the command line (an input path that does not open), not in
    /// the file's contents.
    public let isUsage: Bool

    public init(path: String, line: Int, problem: String, usage: Bool = false) {
        self.path = path
        self.line = line
        self.problem = problem
        self.isUsage = usage
    }

    public var description: String { line > 0 ? "\(path):\(line): \(problem)" : "\(path): \(problem)" }
}

/// What is wrong with one line, before the importer adds the file and line number.
public struct LineProblem: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
