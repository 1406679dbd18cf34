// libFuzzer harness for the .vqt decoder. Three ways in, chosen by the first byte:
//   0: the input is a whole file, opened, verified and read through a cursor;
//   1: the input is a chunk body under a header built from it, with valid checksums, so the
//      fuzzer reaches the column decoder instead of stopping at a CRC;
//   2: records built from the input are encoded, a few bytes of the chunk are changed and the
//      checksums fixed up, then decoded; with no change the records must come back exactly.
// A crash, an ASan report or a failed check is a finding; errors thrown by the decoder are fine.
#if canImport(Glibc)
import Glibc
#endif

let fuzzFilePath = "/dev/shm/vqtrace-fuzz-\(getpid()).vqt"
let fuzzCodec = ZstdCodec(level: 1)
let fuzzDecoder = ChunkDecoder(codec: fuzzCodec)
let fuzzEncoder = ChunkEncoder(codec: fuzzCodec)
let fuzzColumns = RecordColumns(capacity: 4096)
let fuzzDecoded = RecordColumns(capacity: 4096)

func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fputs("Fuzz harness check failed: \(message())\n", stderr)
        abort()
    }
}

func fuzzWholeFile(_ bytes: UnsafeRawBufferPointer) {
    let fd = open(fuzzFilePath, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return }
    _ = write(fd, bytes.baseAddress, bytes.count)
    close(fd)
    defer { unlink(fuzzFilePath) }
    guard let reader = try? TraceReader(path: fuzzFilePath) else { return }
    let result = reader.verify()
    fuzzCheck(result.recordsReadable <= reader.totals.records || !reader.isComplete || !result.badChunks.isEmpty,
              "verify found more records than the index")
    var cursor = reader.cursor()
    var previous: UInt64 = 0
    var count: UInt64 = 0
    while let record = try? cursor.next() {
        fuzzCheck(record.submitNs >= previous, "cursor went back in time")
        previous = record.submitNs
        count += 1
        if count > 10_000_000 { break }
    }
}

/// Header for `body`, with the body's real checksum; the counts and times come from the input.
func fuzzHeader(_ input: inout FuzzInput, body: UnsafeRawBufferPointer) -> ChunkHeader? {
    let count = UInt32(input.u16() % 4096) + 1
    let queueSetLength = UInt32(input.u16()) % UInt32(body.count + 1)
    let first = UInt64(input.u32())
    let last = first + UInt64(input.u32())
    var mix = (UInt32(input.u16()) % (count + 1), UInt32(0), UInt32(0), UInt32(0))
    mix.1 = UInt32(input.u16()) % (count - mix.0 + 1)
    mix.2 = UInt32(input.u16()) % (count - mix.0 - mix.1 + 1)
    mix.3 = count - mix.0 - mix.1 - mix.2
    return ChunkHeader(index: 0, recordCount: count, queueSetLength: queueSetLength,
                       payloadLength: UInt32(body.count) - queueSetLength, rawLength: input.u32() % (1 << 20),
                       firstSubmitNs: first, lastSubmitNs: last, mix: mix, bodyCRC: CRC32C.checksum(body))
}

func fuzzRawChunk(_ input: inout FuzzInput) {
    var headerInput = FuzzInput(input.rest.baseAddress?.assumingMemoryBound(to: UInt8.self), min(input.rest.count, 26))
    input.position += 26
    let body = input.rest
    guard let header = fuzzHeader(&headerInput, body: body) else { return }
    _ = try? fuzzDecoder.decode(header: header, body: body, into: fuzzDecoded)
}

func fuzzMutatedChunk(_ input: inout FuzzInput) {
    let count = Int(input.byte() % 64) + 1
    fuzzColumns.removeAll()
    var time = UInt64(input.u16())
    var records: [TraceRecord] = []
    let types: [TraceRequestType] = [.read, .write, .flush, .getID, .discard, .writeZeroes, TraceRequestType(rawValue: 77)]
    for _ in 0..<count {
        time += UInt64(input.byte()) * UInt64(input.byte() & 1 == 0 ? 1000 : 1)
        let type = types[Int(input.byte()) % types.count]
        let completion: UInt64? = input.byte() & 1 == 0 ? nil : time + UInt64(input.u16())
        let record = TraceRecord(device: UInt16(input.byte() % 2), vq: UInt16(input.byte() % 5), type: type,
                                 sector: UInt64(input.u32()) << UInt64(input.byte() % 30), length: UInt32(input.u16()) * 512,
                                 submitNs: time, completionNs: completion, status: TraceStatus(rawValue: input.byte() % 4 == 0 ? 1 : 0))
        records.append(record)
        fuzzColumns.append(record)
    }
    var out = ByteWriter()
    guard let header = try? fuzzEncoder.encode(fuzzColumns, chunkIndex: 0, into: &out) else { return }
    var bytes = out.bytes
    let bodyRange = TraceFormat.chunkHeaderSize..<bytes.count
    let changes = Int(input.byte() % 4)
    for _ in 0..<changes {
        let position = bodyRange.lowerBound + Int(input.u16()) % bodyRange.count
        bytes[position] ^= max(1, input.byte())
    }
    var fixed = header
    fixed.bodyCRC = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[bodyRange])) }
    let decoded = bytes.withUnsafeBytes { raw in
        try? fuzzDecoder.decode(header: fixed, body: UnsafeRawBufferPointer(rebasing: raw[bodyRange]), into: fuzzDecoded)
    }
    if changes == 0 {
        fuzzCheck(decoded == true, "an unchanged chunk did not decode")
        fuzzCheck(fuzzDecoded.count == count, "decoded \(fuzzDecoded.count) of \(count) records")
        for i in 0..<count { fuzzCheck(fuzzDecoded[i] == records[i], "record \(i) differs after a round trip") }
    } else if decoded == true {
        fuzzCheck(fuzzDecoded.count == count, "a changed chunk decoded to \(fuzzDecoded.count) records, header says \(count)")
        for i in 1..<count { fuzzCheck(fuzzDecoded.submitNs[i] >= fuzzDecoded.submitNs[i - 1], "decoded times go back") }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTraceDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    switch input.byte() % 3 {
    case 0: fuzzWholeFile(input.rest)
    case 1: fuzzRawChunk(&input)
    default: fuzzMutatedChunk(&input)
    }
    return 0
}
