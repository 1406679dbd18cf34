/// A chunk a cursor skipped because it could not be read (a checksum or column that does not
/// check out), and what that cost: a damaged chunk costs only its own records.
public struct DamagedChunk: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    /// Records the chunk held (from the index), all lost.
    public var records: UInt64
    /// The submit-time span the lost records covered.
    public var firstSubmitNs: UInt64
    public var lastSubmitNs: UInt64
    /// What is wrong, located (file, chunk, byte offset).
    public var error: TraceFileError

    public init(index: Int, records: UInt64, firstSubmitNs: UInt64, lastSubmitNs: UInt64, error: TraceFileError) {
        self.index = index
        self.records = records
        self.firstSubmitNs = firstSubmitNs
        self.lastSubmitNs = lastSubmitNs
        self.error = error
    }

    public var description: String { "chunk \(index) skipped (\(records) records lost): \(error.problem), at byte \(error.offset)" }

    /// One sentence for a list of them: how many chunks and records, and which chunks.
    public static func summary(_ chunks: [DamagedChunk], of totalRecords: UInt64) -> String? {
        guard !chunks.isEmpty else { return nil }
        let lost = chunks.reduce(0) { $0 + $1.records }
        let names = chunks.prefix(8).map { "\($0.index)" }.joined(separator: ", ") + (chunks.count > 8 ? ", …" : "")
        return "\(chunks.count) damaged chunk\(chunks.count == 1 ? "" : "s") (\(names)) skipped: \(lost) of \(totalRecords) records lost"
    }
}
