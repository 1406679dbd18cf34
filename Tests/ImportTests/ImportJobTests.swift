import Foundation
import Testing
import TestSupport
import Units
@testable import Import
@testable import Trace

/// The whole import as one library call: settings checked with the setting named, the format
/// detected and said, the output prepared, nothing left on failure.
@Suite("Import jobs")
struct ImportJobTests {
    static let log = """
        fio version 3 iolog
        0 /tmp/a add
        0 /tmp/a open
        10 /tmp/a read 4096 8192
        12 /tmp/a write 0 512
        31 /tmp/a close

        """

    @Test("a misspelled format is refused naming the setting and value, with the nearest format")
    func badSettings() {
        var job = ImportJob(files: ["x.log"], out: "x.vqt")
        job.format = "blkprase"
        let error = #expect(throws: OptionError.self) { try job.validate() }
        #expect(error?.option == "format" && error?.value == "blkprase" && error?.suggestion == "blkparse")
        job.format = "auto"
        job.queues = 0
        #expect((#expect(throws: OptionError.self) { try job.validate() })?.description == "queues '0': must be 1...1024")
        job.queues = nil
        job.capacityBytes = 1000
        #expect((#expect(throws: OptionError.self) { try job.validate() })?.description == "capacity '1000': must be 1m to 1048576t, a multiple of 512")
        job.capacityBytes = nil
        job.files = []
        #expect(throws: OptionError.self) { try job.validate() }
    }

    @Test("auto detects the format and says so; the report counts the requests")
    func detectsAndImports() throws {
        let dir = ScratchDirectory()
        let log = dir.write("a.log", Self.log)
        var notes: [String] = []
        let report = try ImportJob(files: [log], out: dir.file("a.vqt")).run(note: { notes.append($0) })
        #expect(notes == ["format: fio-iolog (\(ImportFormat.fioIolog.summary)), detected from the first 6 lines of \(log)"] || notes.first?.hasPrefix("format: fio-iolog") == true)
        #expect(report.result.totals.records == 2)
        #expect(try TraceReader(path: dir.file("a.vqt")).totals.records == 2)
    }

    @Test("an input that does not open is a usage mistake naming the file, and leaves no output")
    func missingInput() throws {
        let dir = ScratchDirectory()
        let missing = dir.file("none.log")
        var job = ImportJob(files: [missing], out: dir.file("none.vqt"))
        job.format = "fio-iolog"
        let error = #expect(throws: ImportError.self) { _ = try job.run() }
        #expect(error?.description == "\(missing): cannot open for reading: No such file or directory")
        #expect(error.flatMap { usageMistake(in: $0) } != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        // A bad line is the work's failure, not the command line's.
        let bad = dir.write("bad.log", Self.log.replacingOccurrences(of: "10 /tmp/a read 4096 8192", with: "10 /tmp/a read x 8192"))
        job.files = [bad]
        let lineError = #expect(throws: ImportError.self) { _ = try job.run() }
        #expect(lineError.flatMap { usageMistake(in: $0) } == nil)
    }

    @Test("a bad line fails the import naming FILE:LINE and leaves no output, partial or whole")
    func failureLeavesNothing() throws {
        let dir = ScratchDirectory()
        let log = dir.write("bad.log", Self.log.replacingOccurrences(of: "12 /tmp/a write 0 512", with: "12 /tmp/a write zero 512"))
        var job = ImportJob(files: [log], out: dir.file("bad.vqt"))
        job.format = "fio-iolog"
        let error = #expect(throws: ImportError.self) { _ = try job.run() }
        #expect(error?.description.hasPrefix("\(log):5:") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["bad.log"])
    }
}
