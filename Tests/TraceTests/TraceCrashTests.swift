import Foundation
import Testing
import TestSupport
@testable import Trace

/// Runs vqtrace to completion; returns exit status and output.
func runVQTrace(_ arguments: [String], in directory: String) throws -> (status: Int32, output: String) {
    let result = try runChild(vqtraceExecutable(), arguments, in: directory, mergingStandardError: true)
    return (result.status, result.text)
}

@Suite("Crash safety", .serialized)
struct TraceCrashTests {
    @Test("kill -9 of a process writing a trace leaves every completed chunk readable and identical")
    func killNine() throws {
        let executable = vqtraceExecutable()
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build vqtrace first (swift build --build-tests builds it): \(executable)")
        let dir = ScratchDirectory()
        // The trace is written as NAME.partial and appears under its name only when finished.
        let published = dir.file("killed.vqt")
        let path = published + ".partial"
        let child = Process()
        child.executableURL = URL(fileURLWithPath: executable)
        child.arguments = ["traces", "synth", "--out", published, "--requests", "200000000", "--records-per-chunk", "4096", "--fsync", "none", "--no-catalog", "--seed", "9"]
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        // Wait until several chunks are on disk, then kill without warning.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            if size > 200_000 { break }
            usleep(2000)
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
        #expect(!FileManager.default.fileExists(atPath: published))

        let reader = try TraceReader(path: path)
        #expect(!reader.isComplete)
        #expect(reader.recovery?.contains("the writer did not finish") == true)
        #expect(reader.chunks.count >= 3)
        #expect(reader.chunks.allSatisfy { $0.recordCount == 4096 })
        let recovered = try Fixtures.readAll(reader)
        #expect(recovered.count == reader.chunks.count * 4096)
        let result = reader.verify()
        #expect(result.badChunks.isEmpty && result.recordsReadable == UInt64(recovered.count))

        // The same stream written to completion: the recovered records are exactly its prefix.
        let reference = dir.file("reference.vqt")
        let run = try runVQTrace(["traces", "synth", "--out", reference, "--requests", "\(recovered.count)", "--records-per-chunk", "4096", "--no-catalog", "--seed", "9"], in: dir.path)
        #expect(run.status == 0, "\(run.output)")
        #expect(try Fixtures.readAll(TraceReader(path: reference)) == recovered)

        // The CLI says the same, and exits 1.
        let verify = try runVQTrace(["traces", "verify", path], in: dir.path)
        #expect(verify.status == 1)
        #expect(verify.output.contains("\(reader.chunks.count) good chunks, \(recovered.count) records readable"))
        #expect(verify.output.contains("trailer: no trailer: the writer did not finish"))
    }
}
