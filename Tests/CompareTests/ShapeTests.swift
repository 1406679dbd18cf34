import Compare
import Foundation
import Testing
import TestSupport
import Trace

/// Traces of different devices do not compare unless the user insists.
@Suite("Trace comparison of different devices")
struct ComparisonShapeTests {
    static func write(_ path: String, capacitySectors: UInt64, numQueues: UInt16) throws -> TraceReader {
        let metadata = TraceMetadata(devices: [.init(capacitySectors: capacitySectors, numQueues: numQueues)], source: .init(kind: "test", name: "shape"))
        let writer = try TraceWriter(path: path, metadata: metadata, options: .init(replaceExisting: true))
        for i in 0..<400 {
            try writer.append(TraceRecord(vq: UInt16(i % Int(numQueues)), type: .read, sector: UInt64(i) * 8, length: 4096,
                                          submitNs: UInt64(i) * 10_000, completionNs: UInt64(i) * 10_000 + 5_000))
        }
        try writer.finish()
        return try TraceReader(path: path)
    }

    @Test("a different capacity or vq count is refused, naming the difference, as a usage mistake; --force compares anyway and says so")
    func differentShapes() throws {
        let dir = ScratchDirectory()
        let a = try Self.write(dir.file("a.vqt"), capacitySectors: 1 << 21, numQueues: 2)
        let bigger = try Self.write(dir.file("b.vqt"), capacitySectors: 1 << 22, numQueues: 2)
        let error = #expect(throws: ComparisonError.self) { try TraceComparison.compare(a, bigger) }
        #expect(error?.isUsageMistake == true)
        #expect(error?.description.contains("device vda holds 1 GiB in A and 2 GiB in B") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("--force") == true)
        let forced = try TraceComparison.compare(a, bigger, force: true)
        #expect(forced.shapeDifference != nil && forced.lines.contains { $0.contains("compared with --force although device vda holds") })

        let fourVQs = try Self.write(dir.file("c.vqt"), capacitySectors: 1 << 21, numQueues: 4)
        let vqError = #expect(throws: ComparisonError.self) { try TraceComparison.compare(a, fourVQs) }
        #expect(vqError?.description.contains("device vda has 2 vqs in A and 4 in B") == true)
        // B's requests on vqs 2 and 3, which A lacks, are left out and counted, not a crash.
        let c = try TraceComparison.compare(a, fourVQs, force: true)
        #expect(c.outsideA == 200 && c.queues.count == 2)
        #expect(try TraceComparison.compare(a, try TraceReader(path: dir.file("a.vqt"))).shapeDifference == nil)
    }

    @Test("compare --html refuses a file that is not a vqtrace page before comparing, and replaces its own page")
    func htmlRefusesForeignFile() throws {
        let dir = ScratchDirectory()
        let a = try Self.write(dir.file("a.vqt"), capacitySectors: 1 << 21, numQueues: 2)
        let page = dir.file("page.html")
        try "keep me".write(toFile: page, atomically: false, encoding: .utf8)
        #expect(throws: (any Error).self) { try ComparisonPage.compareAndWrite(a, a, html: page) }
        #expect(try String(contentsOfFile: page, encoding: .utf8) == "keep me")
        _ = try ComparisonPage.compareAndWrite(a, a, html: page, force: true)
        _ = try ComparisonPage.compareAndWrite(a, a, html: page)
        try ComparisonPage.writeTracePage(a, to: page, force: false)
        #expect(try String(contentsOfFile: page, encoding: .utf8).contains("content=\"vqtrace-report\""))
    }
}
