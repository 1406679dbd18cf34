/// The columnar chunk codec: records ⇄ (queue set, zstd payload). docs/FORMAT.md §Chunk is the
/// byte-level description; this file is its implementation.
///
/// Each chunk is independent (no state crosses chunks), so any chunk decodes on its own: a crash or
/// a corrupted chunk costs only that chunk, and a time window decodes only the chunks it overlaps.

/// The per-record op byte: the type code and four flags.
enum OpByte {
    static let typeMask: UInt8 = 0x0F
    /// Type code meaning "the raw type follows in the escaped-types column".
    static let escape: UInt8 = 0x0F
    static let hasCompletion: UInt8 = 0x10
    /// The sector is where the previous sector-addressing request of the same queue ended.
    static let sequential: UInt8 = 0x20
    /// The status is not OK and follows in the status column.
    static let notOK: UInt8 = 0x40
    /// The sector is 0 (FLUSH, GET_ID, or a request at the start of the disk).
    static let zeroSector: UInt8 = 0x80

    /// Raw virtio-blk types with a one-nibble code, in code order.
    static let codedTypes: [UInt32] = [0, 1, 4, 8, 11, 13]

    @inline(__always) static func code(for type: UInt32) -> UInt8 {
        switch type {
        case 0: return 0
        case 1: return 1
        case 4: return 2
        case 8: return 3
        case 11: return 4
        case 13: return 5
        default: return escape
        }
    }

    /// Where the next sequential request of a queue would start after this one, or nil when the
    /// request does not move the queue's position.
    @inline(__always) static func endSector(type: UInt32, sector: UInt64, length: UInt32) -> UInt64? {
        guard length > 0, type == 0 || type == 1 || type == 11 || type == 13 else { return nil }
        return sector &+ UInt64(length >> 9)
    }
}

@inline(__always) func greatestCommonDivisor(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var x = a
    var y = b
    while y != 0 { (x, y) = (y, x % y) }
    return x
}

/// How one column of a payload is stored.
enum ColumnEncoding {
    static let stored: UInt8 = 0
    static let zstd: UInt8 = 1
}

/// Encodes full `RecordColumns` into chunks. Reuses every buffer across chunks.
final class ChunkEncoder {
    private let codec: ZstdCodec
    // The codec is used by one thread at a time and its columns are touched per record: the runtime
    // exclusivity checks are off (static checking stays).
    @exclusivity(unchecked) private var indexOfQueue: [UInt32: Int] = [:]
    @exclusivity(unchecked) private var queuesInOrderSeen: [UInt32] = []
    @exclusivity(unchecked) private var rankOfSeen: [Int] = []
    @exclusivity(unchecked) private var localQueue: [Int] = []
    @exclusivity(unchecked) private var previousEnd: [UInt64] = []
    @exclusivity(unchecked) private var queueColumn = ByteWriter()
    @exclusivity(unchecked) private var opColumn = ByteWriter()
    @exclusivity(unchecked) private var escapedColumn = ByteWriter()
    @exclusivity(unchecked) private var statusColumn = ByteWriter()
    @exclusivity(unchecked) private var timeColumn = ByteWriter()
    @exclusivity(unchecked) private var latencyColumn = ByteWriter()
    @exclusivity(unchecked) private var lengthColumn = ByteWriter()
    @exclusivity(unchecked) private var explicitSectors: [UInt64] = []
    @exclusivity(unchecked) private var sectorPlanes = [ByteWriter](repeating: ByteWriter(), count: 8)
    @exclusivity(unchecked) private var compressedColumns = [[UInt8]](repeating: [], count: 15)
    @exclusivity(unchecked) private var payload = ByteWriter()
    @exclusivity(unchecked) private var body: [UInt8] = []

    init(codec: ZstdCodec) { self.codec = codec }

    /// Appends the encoded chunk (header, queue set, payload) to `out` and returns its header.
    @discardableResult
    func encode(_ c: RecordColumns, chunkIndex: UInt32, into out: inout ByteWriter) throws(ZstdError) -> ChunkHeader {
        let n = c.count
        precondition(n > 0 && n <= TraceFormat.maxChunkRecords, "a chunk holds 1...\(TraceFormat.maxChunkRecords) records")

        // Pass 1: queues in first-seen order, common time and length units, mix counts.
        indexOfQueue.removeAll(keepingCapacity: true)
        queuesInOrderSeen.removeAll(keepingCapacity: true)
        localQueue.removeAll(keepingCapacity: true)
        var lastKey = UInt32.max
        var lastIndex = -1
        var timeUnit: UInt64 = 0
        var lengthUnit: UInt64 = 0
        var previousSubmit = c.submitNs[0]
        var mix: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        for i in 0..<n {
            let key = c.queue[i]
            if key != lastKey || lastIndex < 0 {
                if let known = indexOfQueue[key] {
                    lastIndex = known
                } else {
                    lastIndex = queuesInOrderSeen.count
                    indexOfQueue[key] = lastIndex
                    queuesInOrderSeen.append(key)
                }
                lastKey = key
            }
            localQueue.append(lastIndex)
            let submit = c.submitNs[i]
            let delta = submit &- previousSubmit
            previousSubmit = submit
            if timeUnit != 1 && delta != 0 && (timeUnit == 0 || delta % timeUnit != 0) {
                timeUnit = greatestCommonDivisor(timeUnit, delta)
            }
            let completion = c.completionNs[i]
            if completion != RecordColumns.noCompletion {
                let latency = completion &- submit
                if timeUnit != 1 && latency != 0 && (timeUnit == 0 || latency % timeUnit != 0) {
                    timeUnit = greatestCommonDivisor(timeUnit, latency)
                }
            }
            let length = UInt64(c.length[i])
            if lengthUnit != 1 && length != 0 && (lengthUnit == 0 || length % lengthUnit != 0) {
                lengthUnit = greatestCommonDivisor(lengthUnit, length)
            }
            switch c.type[i] {
            case 0: mix.0 += 1
            case 1: mix.1 += 1
            case 4: mix.2 += 1
            default: mix.3 += 1
            }
        }
        if timeUnit == 0 { timeUnit = 1 }
        if lengthUnit == 0 { lengthUnit = 1 }

        // The queue set is stored sorted; the queue column holds ranks in it.
        let sortedQueues = queuesInOrderSeen.sorted()
        rankOfSeen.removeAll(keepingCapacity: true)
        for key in queuesInOrderSeen {
            var lo = 0
            var hi = sortedQueues.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if sortedQueues[mid] < key { lo = mid + 1 } else { hi = mid }
            }
            rankOfSeen.append(lo)
        }
        let wideQueues = sortedQueues.count > 256

        // Pass 2: the columns.
        for column in [\ChunkEncoder.queueColumn, \.opColumn, \.escapedColumn, \.statusColumn, \.timeColumn, \.latencyColumn, \.lengthColumn] {
            self[keyPath: column].removeAll()
        }
        explicitSectors.removeAll(keepingCapacity: true)
        previousEnd.removeAll(keepingCapacity: true)
        previousEnd.append(contentsOf: repeatElement(UInt64.max, count: queuesInOrderSeen.count))
        previousSubmit = c.submitNs[0]
        var maxSector: UInt64 = 0
        for i in 0..<n {
            let local = localQueue[i]
            let rank = rankOfSeen[local]
            if wideQueues { queueColumn.u16(UInt16(truncatingIfNeeded: rank)) } else { queueColumn.u8(UInt8(truncatingIfNeeded: rank)) }

            let type = c.type[i]
            var op = OpByte.code(for: type)
            if op == OpByte.escape { escapedColumn.varint(UInt64(type)) }
            let status = c.status[i]
            if status != 0 {
                op |= OpByte.notOK
                statusColumn.u8(status)
            }
            let submit = c.submitNs[i]
            timeColumn.varint((submit &- previousSubmit) / timeUnit)
            previousSubmit = submit
            let completion = c.completionNs[i]
            if completion != RecordColumns.noCompletion {
                op |= OpByte.hasCompletion
                latencyColumn.varint((completion &- submit) / timeUnit)
            }
            let length = c.length[i]
            lengthColumn.varint(UInt64(length) / lengthUnit)
            let sector = c.sector[i]
            if sector == previousEnd[local] {
                op |= OpByte.sequential
            } else if sector == 0 {
                op |= OpByte.zeroSector
            } else {
                explicitSectors.append(sector)
                maxSector = max(maxSector, sector)
            }
            if let end = OpByte.endSector(type: type, sector: sector, length: length) { previousEnd[local] = end }
            opColumn.u8(op)
        }
        let sectorWidth = (64 - maxSector.leadingZeroBitCount + 7) / 8

        // Sectors as byte planes (all low bytes, then all next bytes, …): each plane then has its
        // own statistics, e.g. the low plane of 8 KiB-aligned sectors carries only 4 bits.
        for plane in 0..<sectorWidth {
            sectorPlanes[plane].removeAll()
            let shift = UInt64(plane * 8)
            for s in explicitSectors { sectorPlanes[plane].u8(UInt8(truncatingIfNeeded: s >> shift)) }
        }

        // Payload: units and counts, a directory of columns, then each column compressed on its
        // own (its own zstd frame and entropy tables) or stored when zstd does not make it smaller.
        let columns = [queueColumn, opColumn, escapedColumn, statusColumn, timeColumn, latencyColumn, lengthColumn]
            + sectorPlanes[0..<sectorWidth]
        payload.removeAll()
        payload.varint(timeUnit)
        payload.varint(lengthUnit)
        payload.u8(UInt8(sectorWidth))
        payload.varint(UInt64(explicitSectors.count))
        var decodedTotal = 0
        for (i, column) in columns.enumerated() {
            compressedColumns[i].removeAll(keepingCapacity: true)
            if column.count >= 64 {
                let result: Result<Void, ZstdError> = column.bytes.withUnsafeBytes { r in
                    Result { () throws(ZstdError) in try codec.compress(r, appendingTo: &compressedColumns[i]) }
                }
                try result.get()
            }
            let useZstd = !compressedColumns[i].isEmpty && compressedColumns[i].count < column.count
            payload.u8(useZstd ? ColumnEncoding.zstd : ColumnEncoding.stored)
            payload.varint(UInt64(column.count))
            payload.varint(UInt64(useZstd ? compressedColumns[i].count : column.count))
            decodedTotal += column.count
        }
        for (i, column) in columns.enumerated() {
            let useZstd = !compressedColumns[i].isEmpty && compressedColumns[i].count < column.count
            payload.append(contentsOf: useZstd ? compressedColumns[i] : column.bytes)
        }

        // Body: queue set, then the payload.
        body.removeAll(keepingCapacity: true)
        var queueSet = ByteWriter()
        queueSet.varint(UInt64(sortedQueues.count))
        var previous: UInt32 = 0
        for (i, key) in sortedQueues.enumerated() {
            queueSet.varint(UInt64(i == 0 ? key : key - previous))
            previous = key
        }
        body.append(contentsOf: queueSet.bytes)
        body.append(contentsOf: payload.bytes)
        precondition(payload.count <= TraceFormat.maxChunkBytes && decodedTotal <= TraceFormat.maxChunkBytes,
                     "chunk larger than the format allows: lower the records per chunk")

        let header = ChunkHeader(
            index: chunkIndex, recordCount: UInt32(n), queueSetLength: UInt32(queueSet.count),
            payloadLength: UInt32(payload.count), rawLength: UInt32(decodedTotal),
            firstSubmitNs: c.submitNs[0], lastSubmitNs: c.submitNs[n - 1], mix: mix,
            bodyCRC: CRC32C.checksum(body))
        header.write(into: &out)
        out.append(contentsOf: body)
        return header
    }
}

/// What is wrong with a chunk's body.
public enum ChunkBodyProblem: Error, CustomStringConvertible, Sendable {
    case checksum(stored: UInt32, computed: UInt32)
    case queueSet(String)
    case decompression(String)
    case column(String)

    public var description: String {
        switch self {
        case .checksum(let s, let c):
            return "chunk body checksum mismatch (stored 0x\(String(s, radix: 16)), computed 0x\(String(c, radix: 16)))"
        case .queueSet(let what): return "queue set: \(what)"
        case .decompression(let what): return "zstd payload: \(what)"
        case .column(let what): return "payload: \(what)"
        }
    }
}

/// A bounds-checked cursor over one column of a decompressed payload.
private struct ColumnCursor {
    let name: StaticString
    let base: UnsafePointer<UInt8>
    var position: Int
    let end: Int

    @inline(__always) mutating func byte() throws(ChunkBodyProblem) -> UInt8 {
        guard position < end else { throw .column("\(name) column ends early at byte \(position)") }
        defer { position += 1 }
        return base[position]
    }

    @inline(__always) mutating func varint() throws(ChunkBodyProblem) -> UInt64 {
        // Fast path: one byte.
        if position < end {
            let first = base[position]
            if first < 0x80 {
                position += 1
                return UInt64(first)
            }
        }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw .column("\(name) column ends inside a varint at byte \(position)") }
            let byte = base[position]
            position += 1
            if shift == 63 && byte > 1 { throw .column("\(name) column: varint over 64 bits at byte \(position - 1)") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    func checkConsumed() throws(ChunkBodyProblem) {
        if position != end { throw .column("\(name) column has \(end - position) bytes left over") }
    }
}

/// The scalars in front of a payload's column directory.
struct PayloadUnits {
    var timeUnit: UInt64
    var lengthUnit: UInt64
    var sectorWidth: Int
    var explicitCount: Int
}

/// Decodes chunk bodies into `RecordColumns`. Reuses its buffers across chunks.
final class ChunkDecoder {
    private let codec: ZstdCodec
    // The codec is used by one thread at a time and its columns are touched per record: the runtime
    // exclusivity checks are off (static checking stays).
    @exclusivity(unchecked) private var raw: UnsafeMutableRawBufferPointer
    @exclusivity(unchecked) private(set) var queueSet: [UInt32] = []
    @exclusivity(unchecked) private var previousEnd: [UInt64] = []

    init(codec: ZstdCodec) {
        self.codec = codec
        raw = .allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit { raw.deallocate() }

    /// Checks and decodes `body` (the queue set and payload after `header`) into `c`.
    /// With `queues`, stops after the queue set and returns false when the chunk holds none of them.
    func decode(header: ChunkHeader, body: UnsafeRawBufferPointer, into c: RecordColumns, onlyIfQueueSetMeets queues: Set<UInt32>? = nil) throws(ChunkBodyProblem) -> Bool {
        let n = Int(header.recordCount)
        precondition(c.capacity >= n, "RecordColumns too small for the chunk")
        guard body.count == Int(header.queueSetLength) + Int(header.payloadLength) else {
            throw .column("body is \(body.count) bytes, header says \(Int(header.queueSetLength) + Int(header.payloadLength))")
        }
        let crc = CRC32C.checksum(body)
        guard crc == header.bodyCRC else { throw .checksum(stored: header.bodyCRC, computed: crc) }

        try readQueueSet(UnsafeRawBufferPointer(rebasing: body[0..<Int(header.queueSetLength)]), recordCount: n)
        if let queues, !queueSet.contains(where: { queues.contains($0) }) { return false }

        let payload = UnsafeRawBufferPointer(rebasing: body[Int(header.queueSetLength)...])
        let rawLength = Int(header.rawLength)
        if raw.count < rawLength {
            raw.deallocate()
            raw = .allocate(byteCount: max(rawLength, raw.count * 2), alignment: 16)
        }
        var r = ByteReader(payload)
        var units = PayloadUnits(timeUnit: 0, lengthUnit: 0, sectorWidth: 0, explicitCount: 0)
        var directory: [(encoding: UInt8, decoded: Int, stored: Int)] = []
        do {
            units.timeUnit = try r.varint()
            units.lengthUnit = try r.varint()
            units.sectorWidth = Int(try r.u8())
            guard units.sectorWidth <= 8 else { throw ChunkBodyProblem.column("sector width \(units.sectorWidth) over 8 bytes") }
            let explicit = try r.varint()
            guard explicit <= UInt64(n) else { throw ChunkBodyProblem.column("\(explicit) explicit sectors for \(n) records") }
            units.explicitCount = Int(explicit)
            for i in 0..<(7 + units.sectorWidth) {
                let encoding = try r.u8()
                let decoded = try r.varint()
                let stored = try r.varint()
                guard encoding <= ColumnEncoding.zstd else { throw ChunkBodyProblem.column("column \(i): unknown encoding \(encoding)") }
                guard decoded <= UInt64(rawLength), stored <= UInt64(payload.count) else {
                    throw ChunkBodyProblem.column("column \(i): lengths \(decoded)/\(stored) exceed the chunk")
                }
                if encoding == ColumnEncoding.stored && decoded != stored {
                    throw ChunkBodyProblem.column("column \(i): stored column of \(stored) bytes claims \(decoded)")
                }
                directory.append((encoding, Int(decoded), Int(stored)))
            }
        } catch let problem as ChunkBodyProblem {
            throw problem
        } catch {
            throw .column("payload directory cut short (\(error))")
        }
        let decodedTotal = directory.reduce(0) { $0 + $1.decoded }
        guard decodedTotal == rawLength else { throw .column("columns decode to \(decodedTotal) bytes, header says \(rawLength)") }
        let storedTotal = directory.reduce(0) { $0 + $1.stored }
        guard storedTotal <= r.remaining else { throw .column("columns need \(storedTotal) bytes, payload has \(r.remaining)") }
        var inOffset = r.offset
        var outOffset = 0
        for (i, column) in directory.enumerated() {
            let source = UnsafeRawBufferPointer(rebasing: payload[inOffset..<inOffset + column.stored])
            let destination = UnsafeMutableRawBufferPointer(rebasing: raw[outOffset..<outOffset + column.decoded])
            if column.encoding == ColumnEncoding.zstd {
                do { try codec.decompress(source, into: destination) } catch { throw .decompression("column \(i): \(error.description)") }
            } else if column.stored > 0 {
                destination.copyMemory(from: source)
            }
            inOffset += column.stored
            outOffset += column.decoded
        }
        try decodeColumns(UnsafeRawBufferPointer(rebasing: raw[0..<rawLength]), lengths: directory.map(\.decoded), units: units, header: header, into: c)
        return true
    }

    func readQueueSet(_ bytes: UnsafeRawBufferPointer, recordCount: Int) throws(ChunkBodyProblem) {
        queueSet.removeAll(keepingCapacity: true)
        var r = ByteReader(bytes)
        do {
            let count = try r.varint()
            guard count >= 1 && count <= UInt64(recordCount) else { throw ChunkBodyProblem.queueSet("\(count) queues for \(recordCount) records") }
            var key: UInt64 = 0
            for i in 0..<Int(count) {
                let step = try r.varint()
                if i > 0 && step == 0 { throw ChunkBodyProblem.queueSet("queue \(i) repeats the previous one") }
                // Both are below 2^32 here when valid, so a larger step is an error before it can overflow.
                guard step <= UInt64(UInt32.max) && key + step <= UInt64(UInt32.max) else {
                    throw ChunkBodyProblem.queueSet("queue \(i): key over 32 bits")
                }
                key += step
                queueSet.append(UInt32(key))
            }
        } catch let problem as ChunkBodyProblem {
            throw problem
        } catch {
            throw .queueSet("cut short (\(error))")
        }
        if r.remaining != 0 { throw .queueSet("\(r.remaining) bytes left over") }
    }

    private func decodeColumns(_ p: UnsafeRawBufferPointer, lengths: [Int], units: PayloadUnits, header: ChunkHeader, into c: RecordColumns) throws(ChunkBodyProblem) {
        let n = Int(header.recordCount)
        let timeUnit = units.timeUnit
        let lengthUnit = units.lengthUnit
        let sectorWidth = units.sectorWidth
        let explicitCount = units.explicitCount
        guard timeUnit >= 1 else { throw .column("time unit is 0") }
        guard lengthUnit >= 1 && lengthUnit <= UInt64(UInt32.max) else { throw .column("length unit \(lengthUnit) outside 1...2^32-1") }
        let wideQueues = queueSet.count > 256
        guard lengths[0] == n * (wideQueues ? 2 : 1) else { throw .column("queue column is \(lengths[0]) bytes for \(n) records") }
        guard lengths[1] == n else { throw .column("op column is \(lengths[1]) bytes for \(n) records") }
        for plane in 0..<sectorWidth where lengths[7 + plane] != explicitCount {
            throw .column("sector plane \(plane) is \(lengths[7 + plane]) bytes for \(explicitCount) explicit sectors")
        }
        guard p.count > 0 else { throw .column("empty payload") }
        var start = 0
        let base = p.baseAddress!.assumingMemoryBound(to: UInt8.self)
        func cursor(_ name: StaticString, _ length: Int) -> ColumnCursor {
            defer { start += length }
            return ColumnCursor(name: name, base: base, position: start, end: start + length)
        }
        let queueBase = base + start
        start += lengths[0]
        let opBase = base + start
        start += lengths[1]
        var escaped = cursor("escaped-type", lengths[2])
        var statuses = cursor("status", lengths[3])
        var times = cursor("submit-time", lengths[4])
        var latencies = cursor("latency", lengths[5])
        var lengthCursor = cursor("length", lengths[6])
        let sectorBase = base + start

        previousEnd.removeAll(keepingCapacity: true)
        previousEnd.append(contentsOf: repeatElement(UInt64.max, count: queueSet.count))
        var explicitIndex = 0
        var time = header.firstSubmitNs
        var mix: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        let queueCount = queueSet.count
        for i in 0..<n {
            let rank = wideQueues ? Int(UInt16(queueBase[2 * i]) | UInt16(queueBase[2 * i + 1]) << 8) : Int(queueBase[i])
            guard rank < queueCount else { throw .column("record \(i): queue index \(rank) outside the queue set of \(queueCount)") }
            c.queue[i] = queueSet[rank]

            let op = opBase[i]
            var type: UInt32
            let code = op & OpByte.typeMask
            if code == OpByte.escape {
                let value = try escaped.varint()
                guard value <= UInt64(UInt32.max) else { throw .column("record \(i): type \(value) over 32 bits") }
                type = UInt32(value)
            } else {
                guard Int(code) < OpByte.codedTypes.count else { throw .column("record \(i): unknown type code \(code)") }
                type = OpByte.codedTypes[Int(code)]
            }
            c.type[i] = type
            switch type {
            case 0: mix.0 += 1
            case 1: mix.1 += 1
            case 4: mix.2 += 1
            default: mix.3 += 1
            }
            c.status[i] = op & OpByte.notOK != 0 ? try statuses.byte() : 0

            let (scaled, overflow1) = try times.varint().multipliedReportingOverflow(by: timeUnit)
            let (next, overflow2) = time.addingReportingOverflow(scaled)
            guard !overflow1 && !overflow2 else { throw .column("record \(i): submit time overflows 64 bits") }
            if i == 0 && next != header.firstSubmitNs { throw .column("first submit time \(next) differs from the header's \(header.firstSubmitNs)") }
            time = next
            c.submitNs[i] = time

            if op & OpByte.hasCompletion != 0 {
                let (latency, overflow3) = try latencies.varint().multipliedReportingOverflow(by: timeUnit)
                let (completion, overflow4) = time.addingReportingOverflow(latency)
                guard !overflow3 && !overflow4 && completion != RecordColumns.noCompletion else {
                    throw .column("record \(i): completion time overflows 64 bits")
                }
                c.completionNs[i] = completion
            } else {
                c.completionNs[i] = RecordColumns.noCompletion
            }

            let (length, overflow5) = try lengthCursor.varint().multipliedReportingOverflow(by: lengthUnit)
            guard !overflow5 && length <= UInt64(UInt32.max) else { throw .column("record \(i): length over 32 bits") }
            c.length[i] = UInt32(length)

            let sector: UInt64
            if op & OpByte.sequential != 0 {
                guard op & OpByte.zeroSector == 0 else { throw .column("record \(i): both sequential and zero-sector flags") }
                sector = previousEnd[rank]
                guard sector != UInt64.max else { throw .column("record \(i): sequential flag but no earlier request on its queue") }
            } else if op & OpByte.zeroSector != 0 {
                sector = 0
            } else {
                guard explicitIndex < explicitCount else { throw .column("record \(i): more explicit sectors than the \(explicitCount) stored") }
                var value: UInt64 = 0
                for plane in 0..<sectorWidth {
                    value |= UInt64(sectorBase[plane * explicitCount + explicitIndex]) << UInt64(plane * 8)
                }
                explicitIndex += 1
                sector = value
            }
            c.sector[i] = sector
            if let end = OpByte.endSector(type: type, sector: sector, length: c.length[i]) { previousEnd[rank] = end }
        }
        guard time == header.lastSubmitNs else { throw .column("last submit time \(time) differs from the header's \(header.lastSubmitNs)") }
        guard explicitIndex == explicitCount else { throw .column("\(explicitCount - explicitIndex) explicit sectors left over") }
        guard mix == header.mix else { throw .column("per-type counts differ from the header's") }
        try escaped.checkConsumed()
        try statuses.checkConsumed()
        try times.checkConsumed()
        try latencies.checkConsumed()
        try lengthCursor.checkConsumed()
        c.setCount(n)
    }
}
