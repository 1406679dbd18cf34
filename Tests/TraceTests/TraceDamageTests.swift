import Foundation
import Testing
import TestSupport
@testable import Trace

@Suite("Damaged and truncated traces")
struct TraceDamageTests {
    /// 60 records in 6 chunks of 10.
    static func smallTrace(_ dir: ScratchDirectory) throws -> (path: String, records: [TraceRecord], bytes: [UInt8]) {
        let path = dir.file("small.vqt")
        let records = Fixtures.randomRecords(count: 60, devices: Fixtures.metadata().devices, seed: 21)
        try Fixtures.write(records, to: path, recordsPerChunk: 10)
        return (path, records, Fixtures.bytes(of: path))
    }

    @Test("a bit flip in a chunk body names the chunk and byte offset; every other chunk still reads")
    func bodyBitFlip() throws {
        let dir = ScratchDirectory()
        let (path, records, bytes) = try Self.smallTrace(dir)
        let chunk2 = try TraceReader(path: path).chunks[2]
        var damaged = bytes
        damaged[Int(chunk2.offset) + 64 + Int(chunk2.length - 64) / 2] ^= 0x10
        Fixtures.writeBytes(damaged, to: path)

        let reader = try TraceReader(path: path)
        let result = reader.verify()
        #expect(!result.isClean)
        #expect(result.badChunks.count == 1)
        #expect(result.badChunks.first?.index == 2)
        #expect(result.badChunks.first?.offset == chunk2.offset + 64)
        #expect(result.badChunks.first?.problem.contains("checksum mismatch") == true)
        #expect(result.badChunks.first?.recordsLost == 10)
        #expect(result.recordsReadable == 50 && result.chunksGood == 5)

        // Reading through the damage stops with a located error after the 20 good records.
        var cursor = reader.cursor()
        var before: [TraceRecord] = []
        let error = #expect(throws: TraceFileError.self) { while let r = try cursor.next() { before.append(r) } }
        #expect(before == Array(records[0..<20]))
        #expect(error?.part == .chunk(2))
        #expect(error?.description.hasPrefix("\(path): chunk 2 at byte \(chunk2.offset + 64): chunk body checksum mismatch") == true)
        // A window past the damage reads as before.
        let from = records[40].submitNs
        #expect(try Fixtures.readAll(reader, from: from) == records.filter { $0.submitNs >= from })
    }

    @Test("a damaged chunk header is reported and the walk resumes at the next chunk")
    func headerBitFlip() throws {
        let dir = ScratchDirectory()
        let (path, _, bytes) = try Self.smallTrace(dir)
        let chunk1 = try TraceReader(path: path).chunks[1]
        var damaged = bytes
        damaged[Int(chunk1.offset) + 9] ^= 0x01  // record count
        Fixtures.writeBytes(damaged, to: path)
        let result = try TraceReader(path: path).verify()
        #expect(result.badChunks.map(\.index) == [1])
        #expect(result.badChunks[0].offset == chunk1.offset)
        #expect(result.badChunks[0].problem.contains("chunk header checksum mismatch"))
        #expect(result.badChunks[0].problem.contains("resumed at byte \(chunk1.offset + UInt64(chunk1.length))"))
        #expect(result.recordsReadable == 50)
    }

    @Test("every single-bit flip anywhere in a file is detected: an error or a failed verify, never wrong records")
    func everyBitFlip() throws {
        let dir = ScratchDirectory()
        let (_, records, bytes) = try Self.smallTrace(dir)
        let path = dir.file("flipped.vqt")
        var openErrors = 0
        for position in 0..<bytes.count {
            var damaged = bytes
            damaged[position] ^= UInt8(1) << UInt8(position % 8)
            Fixtures.writeBytes(damaged, to: path)
            let reader: TraceReader
            do {
                reader = try TraceReader(path: path)
            } catch {
                openErrors += 1
                #expect(error.part == .header, "byte \(position): \(error)")
                continue
            }
            #expect(!reader.verify().isClean, "byte \(position): flip not detected by verify")
            do {
                let back = try Fixtures.readAll(reader)
                #expect(back == records, "byte \(position): records differ without an error")
            } catch {
                guard case .chunk = error.part else {
                    Issue.record("byte \(position): error not located in a chunk: \(error)")
                    continue
                }
            }
        }
        #expect(openErrors > 100)  // the header is a few hundred bytes of checksummed metadata
    }

    @Test("truncation at every byte: an error naming the header, or every complete chunk and nothing else")
    func everyTruncation() throws {
        let dir = ScratchDirectory()
        let (original, records, bytes) = try Self.smallTrace(dir)
        let full = try TraceReader(path: original)
        let path = dir.file("cut.vqt")
        for cut in 0..<bytes.count {
            Fixtures.writeBytes(Array(bytes[0..<cut]), to: path)
            let reader: TraceReader
            do {
                reader = try TraceReader(path: path)
            } catch {
                #expect(cut < full.headerLength, "cut at \(cut): \(error)")
                #expect(error.description.contains(path))
                continue
            }
            let complete = full.chunks.filter { $0.offset + UInt64($0.length) <= UInt64(cut) }
            let expected = complete.reduce(0) { $0 + Int($1.recordCount) }
            #expect(!reader.isComplete)
            #expect(reader.chunks == complete, "cut at \(cut)")
            #expect(try Fixtures.readAll(reader) == Array(records[0..<expected]), "cut at \(cut)")
            let result = reader.verify()
            #expect(!result.isClean && result.recordsReadable == UInt64(expected) && result.badChunks.isEmpty, "cut at \(cut)")
        }
    }
}

@Suite("Hostile chunk bodies")
struct HostileChunkTests {
    /// Decodes `body` under a header with valid checksums, as the fuzz harness does.
    static func decode(queueSet: [UInt8], payload: [UInt8], records: UInt32 = 1, decodedLength: UInt32 = 4) -> ChunkBodyProblem? {
        let body = queueSet + payload
        let header = ChunkHeader(index: 0, recordCount: records, queueSetLength: UInt32(queueSet.count), payloadLength: UInt32(payload.count),
                                 rawLength: decodedLength, firstSubmitNs: 0, lastSubmitNs: 0, mix: (records, 0, 0, 0), bodyCRC: CRC32C.checksum(body))
        let decoder = ChunkDecoder(codec: ZstdCodec())
        do {
            _ = try body.withUnsafeBytes { try decoder.decode(header: header, body: $0, into: RecordColumns(capacity: Int(records))) }
            return nil
        } catch let problem as ChunkBodyProblem {
            return problem
        } catch {
            return .column("unexpected error \(error)")
        }
    }

    @Test("a queue-set step near 2^64 is an error, not an overflow (found by the fuzzer)")
    func queueSetStepOverflow() {
        // Two queues: key 5, then a step of 2^64 − 1.
        let problem = Self.decode(queueSet: [0x02, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], payload: [0], records: 2)
        #expect(problem?.description == "queue set: queue 1: key over 32 bits")
    }

    @Test("a sequential flag on a queue's first record is refused")
    func sequentialWithoutPrevious() {
        // One read, stored columns: time unit 1, length unit 1, width 0, 0 explicit; directory;
        // queue rank 0; op = read | sequential; submit delta 0; length 0.
        var payload: [UInt8] = [0x01, 0x01, 0x00, 0x00]
        payload += [0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1]
        payload += [0x00, 0x20, 0x00, 0x00]
        let problem = Self.decode(queueSet: [0x01, 0x00], payload: payload)
        #expect(problem?.description == "payload: record 0: sequential flag but no earlier request on its queue")
    }
}
