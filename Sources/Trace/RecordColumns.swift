/// Records as columns (one array per field), the shape the chunk codec works in: the writer
/// fills one of these before encoding a chunk, the reader decodes a chunk into one.
///
/// Storage is allocated once at `capacity` and reused; nothing is allocated per record or per
/// chunk. Not thread-safe: each writer, reader or cursor owns its own.
public final class RecordColumns {
    /// `completionNs` value meaning "no completion time recorded".
    public static let noCompletion = UInt64.max

    // Appended per record by one thread: no runtime exclusivity check.
    @exclusivity(unchecked) public private(set) var count = 0
    public let capacity: Int
    public let submitNs: UnsafeMutablePointer<UInt64>
    public let completionNs: UnsafeMutablePointer<UInt64>
    public let sector: UnsafeMutablePointer<UInt64>
    public let length: UnsafeMutablePointer<UInt32>
    public let type: UnsafeMutablePointer<UInt32>
    public let status: UnsafeMutablePointer<UInt8>
    /// `QueueKey.rawValue` of each record.
    public let queue: UnsafeMutablePointer<UInt32>

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        submitNs = .allocate(capacity: capacity)
        completionNs = .allocate(capacity: capacity)
        sector = .allocate(capacity: capacity)
        length = .allocate(capacity: capacity)
        type = .allocate(capacity: capacity)
        status = .allocate(capacity: capacity)
        queue = .allocate(capacity: capacity)
    }

    deinit {
        submitNs.deallocate()
        completionNs.deallocate()
        sector.deallocate()
        length.deallocate()
        type.deallocate()
        status.deallocate()
        queue.deallocate()
    }

    public var isFull: Bool { count == capacity }

    @inline(__always) public func append(_ r: TraceRecord) {
        precondition(count < capacity, "RecordColumns overflow")
        let i = count
        submitNs[i] = r.submitNs
        completionNs[i] = r.completionNs ?? Self.noCompletion
        sector[i] = r.sector
        length[i] = r.length
        type[i] = r.type.rawValue
        status[i] = r.status.rawValue
        queue[i] = r.queueKey.rawValue
        count = i + 1
    }

    public func removeAll() { count = 0 }

    /// Sets the count after a decoder wrote `n` records directly into the columns.
    func setCount(_ n: Int) {
        precondition(n <= capacity)
        count = n
    }

    @inline(__always) public subscript(i: Int) -> TraceRecord {
        precondition(i >= 0 && i < count, "record index out of range")
        let completion = completionNs[i]
        let key = QueueKey(rawValue: queue[i])
        return TraceRecord(
            device: key.device, vq: key.vq, type: TraceRequestType(rawValue: type[i]), sector: sector[i],
            length: length[i], submitNs: submitNs[i],
            completionNs: completion == Self.noCompletion ? nil : completion,
            status: TraceStatus(rawValue: status[i]))
    }
}
