import Foundation

/// What a finished child process left: its exit status and what it wrote.
public struct ChildResult {
    public var status: Int32
    public var output: Data
    public var text: String { String(decoding: output, as: UTF8.self) }
}

/// Runs `executable` to completion and collects its standard output (and its standard error
/// too when `mergingStandardError`, else that is discarded). The pipe is drained before the
/// wait, so a child that writes more than a pipe holds cannot hang the test.
public func runChild(_ executable: String, _ arguments: [String], in directory: String? = nil,
                     mergingStandardError: Bool = false) throws -> ChildResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = mergingStandardError ? pipe : FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ChildResult(status: process.terminationStatus, output: data)
}

/// The vqtrace executable built next to this test bundle.
public func vqtraceExecutable() -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = bundle.deletingLastPathComponent()
    // swift test runs `<build>/debug/vqtracePackageTests.xctest`; the executable sits beside it.
    for _ in 0..<3 {
        let candidate = directory.appendingPathComponent("vqtrace").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("vqtrace").path
}
