import Catalog
import Units
import Foundation
import Testing
import TestSupport
@testable import Trace

/// A damaged chunk costs only itself in an unfinished trace too; a damaged file header is
/// rebuilt from the catalog's metadata; `traces verify`'s finding is kept on the catalog row.
@Suite("Damage: unfinished traces, headers, the catalog row")
struct DamageRepairTests {
    @Test("a damaged chunk header in an unfinished trace (no trailer) costs only that chunk")
    func unfinishedTraceHeaderDamage() throws {
        let dir = ScratchDirectory()
        let (path, records, bytes) = try TraceDamageTests.smallTrace(dir)
        let finished = try TraceReader(path: path)
        let chunk1 = finished.chunks[1]
        let last = finished.chunks[5]
        // The writer "died" after its last chunk: no trailer, no footer.
        var damaged = Array(bytes[0..<Int(last.offset + UInt64(last.length))])
        damaged[Int(chunk1.offset) + 9] ^= 0x01
        Fixtures.writeBytes(damaged, to: path)

        let reader = try TraceReader(path: path)
        #expect(!reader.isComplete)
        #expect(reader.chunks.count == 6)
        #expect(reader.recovery?.contains("resumed at byte \(chunk1.offset + UInt64(chunk1.length))") == true)
        var cursor = reader.cursor(skippingDamagedChunks: true)
        var read: [TraceRecord] = []
        while let record = try cursor.next() { read.append(record) }
        #expect(read == Array(records[0..<10]) + Array(records[20...]))
        #expect(cursor.damaged.map(\.index) == [1])
        // Repair keeps the other five chunks.
        let out = dir.file("repaired.vqt")
        let report = try TraceRepair.repair(from: path, to: out)
        #expect(report.recordsKept == 50)
        #expect(try Fixtures.readAll(TraceReader(path: out)) == read)
    }

    @Test("a flipped header byte is rebuilt by repair from the catalog's metadata; without it the error says what is needed")
    func headerRebuiltFromCatalog() throws {
        let dir = ScratchDirectory()
        let (path, records, bytes) = try TraceDamageTests.smallTrace(dir)
        let catalog = try TraceCatalog(path: dir.file("catalog.sqlite"))
        let row = try catalog.register(tracePath: path)
        var damaged = bytes
        damaged[TraceFormat.headerFixedSize + 5] ^= 0x20  // inside the metadata JSON
        Fixtures.writeBytes(damaged, to: path)
        #expect(throws: TraceFileError.self) { try TraceReader(path: path) }

        let out = dir.file("repaired.vqt")
        let refused = #expect(throws: TraceFileError.self) { try TraceRepair.repair(from: path, to: out) }
        #expect(refused?.description.contains("rebuilt only from a catalog row") == true)
        #expect(!FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: out + ".partial"))

        let metadata = try #require(try catalog.find(path).metadata)
        #expect(metadata == (try Self.originalMetadata(bytes, dir)))
        let report = try TraceRepair.repair(from: path, to: out, metadata: metadata)
        #expect(report.headerRebuilt?.contains("checksum") == true)
        #expect(report.recordsKept == 60 && report.damaged.isEmpty)
        let repaired = try TraceReader(path: out)
        #expect(repaired.isComplete && repaired.metadata == metadata)
        #expect(try Fixtures.readAll(repaired) == records)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["catalog.sqlite", "repaired.vqt", "small.vqt"])
        _ = row
    }

    static func originalMetadata(_ bytes: [UInt8], _ dir: ScratchDirectory) throws -> TraceMetadata {
        let copy = dir.file("original.vqt")
        Fixtures.writeBytes(bytes, to: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        return try TraceReader(path: copy).metadata
    }

    @Test("verify's finding goes on the trace's row, shows in the list, and is cleared when the file is intact again", arguments: CatalogKind.available)
    func damageOnTheRow(kind: CatalogKind) throws {
        let dir = ScratchDirectory()
        let (path, _, bytes) = try TraceDamageTests.smallTrace(dir)
        let store = try kind.fresh(dir)
        let row = try store.register(tracePath: path)
        #expect(row.damage == nil)
        let chunk2 = try TraceReader(path: path).chunks[2]
        var damaged = bytes
        damaged[Int(chunk2.offset) + 64 + Int(chunk2.length - 64) / 2] ^= 0x10
        Fixtures.writeBytes(damaged, to: path)

        try store.recordVerification(try TraceReader(path: path).verify(), traceId: row.id)
        let marked = try store.find("\(row.id)")
        #expect(marked.damage == "1 damaged chunk (2): 10 records lost")
        #expect(CatalogTrace.table([marked]).contains("complete, DAMAGED"))
        #expect(String(decoding: try JSONEncoder().encode(marked), as: UTF8.self).contains("\"damage\":\"1 damaged chunk (2): 10 records lost\""))

        Fixtures.writeBytes(bytes, to: path)
        try store.recordVerification(try TraceReader(path: path).verify(), traceId: row.id)
        #expect(try store.find("\(row.id)").damage == nil)
    }
}

@Suite("Wrong trace references")
struct WrongTraceReferenceTests {
    @Test("a trace named wrongly is a usage mistake (exit 2); a path-like one says there is no such file")
    func wrongReference() throws {
        let dir = ScratchDirectory()
        let catalog = try TraceCatalog(path: dir.file("catalog.sqlite"))
        let byId = #expect(throws: CatalogError.self) { try catalog.find("999") }
        #expect(byId?.isUsageMistake == true)
        #expect(byId?.description == "no trace \"999\" in the catalog (see `vqtrace traces list`)")
        let byPath = #expect(throws: CatalogError.self) { try catalog.find("Traces/nosuch.vqt") }
        #expect(byPath?.description.hasPrefix("Traces/nosuch.vqt: no such file, and no catalogued trace") == true)
        #expect(CatalogError.database("x").isUsageMistake == false)
    }
}

@Suite("Catalog locations")
struct CatalogLocationSchemeTests {
    @Test("a URL of another scheme is refused, not taken for a file named mysql:")
    func otherScheme() throws {
        let error = #expect(throws: OptionError.self) { try CatalogLocation(parsing: "mysql://db/x") }
        #expect(error?.description.hasPrefix("catalog 'mysql://db/x': mysql:// is not a catalog vqtrace opens") == true)
        #expect((#expect(throws: OptionError.self) { try CatalogLocation(parsing: "postgress://u@h/db") })?.suggestion == "postgres://u@h/db")
        #expect(try CatalogLocation(parsing: "Traces/catalog.sqlite") == .sqlite(path: "Traces/catalog.sqlite"))
    }
}
