import Foundation

/// What a finished child process left: its exit status and what it wrote.
public struct ChildResult: Sendable {
    /// The exit status, or the signal number when `signalled`.
    public var status: Int32
    public var output: Data
    /// The child died of a signal (a trap such as SIGILL or SIGTRAP, or the timeout's SIGKILL).
    public var signalled = false
    /// The child outlived its timeout and was killed.
    public var timedOut = false
    public var text: String { String(decoding: output, as: UTF8.self) }

    public init(status: Int32, output: Data, signalled: Bool = false, timedOut: Bool = false) {
        self.status = status
        self.output = output
        self.signalled = signalled
        self.timedOut = timedOut
    }
}

/// Runs `executable` to completion and collects its standard output (and its standard error
/// too when `mergingStandardError`, else that is discarded). The pipe is drained before the
/// wait, so a child that writes more than a pipe holds cannot hang the test.
/// With `timeout`, a child still running then is killed (SIGKILL) and the result says so.
public func runChild(_ executable: String, _ arguments: [String], in directory: String? = nil,
                     mergingStandardError: Bool = false, timeout: TimeInterval? = nil) throws -> ChildResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = mergingStandardError ? pipe : FileHandle.nullDevice
    try process.run()
    let killer = timeout.map { seconds in
        let item = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: item)
        return item
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer?.cancel()
    let signalled = process.terminationReason == .uncaughtSignal
    return ChildResult(status: process.terminationStatus, output: data, signalled: signalled,
                       timedOut: signalled && process.terminationStatus == SIGKILL)
}

/// A child that runs until told otherwise: output is collected on a background queue, so that
/// a test can wait for a line, signal the child, and read everything it wrote.
public final class RunningChild: @unchecked Sendable {
    public let process = Process()
    private let pipe = Pipe()
    private let lock = NSLock()
    private var collected = Data()
    private let drained = DispatchSemaphore(value: 0)

    public init(_ executable: String, _ arguments: [String], in directory: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        DispatchQueue.global().async { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock()
                collected.append(chunk)
                lock.unlock()
            }
            drained.signal()
        }
    }

    /// Everything written so far.
    public var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    /// Waits until the output contains `needle` (true) or `timeout` passes (false).
    public func waitFor(_ needle: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if text.contains(needle) { return true }
            usleep(10_000)
        }
        return text.contains(needle)
    }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the child to exit (killing it after `timeout`) and for its output to end.
    public func finish(timeout: TimeInterval) -> ChildResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        var timedOut = false
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            timedOut = true
        }
        process.waitUntilExit()
        drained.wait()
        return ChildResult(status: process.terminationStatus, output: Data(text.utf8),
                           signalled: process.terminationReason == .uncaughtSignal, timedOut: timedOut)
    }
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
