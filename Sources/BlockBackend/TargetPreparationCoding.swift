/// `TargetPreparation` as stored with a run and printed by `--json`: snake_case, with the
/// one-line `summary` and the fill rate added for readers (decoding ignores them).
extension TargetPreparation: Codable {
    enum CodingKeys: String, CodingKey {
        case kind, path, marked, filesystem, sparse, detection, summary
        case createdByVqtrace = "created_by_vqtrace", createdNow = "created_now", neededBytes = "needed_bytes"
        case capacityBytes = "capacity_bytes", unwrittenBytesBefore = "unwritten_bytes_before", filledBytes = "filled_bytes"
        case fillSeconds = "fill_seconds", fillMBPerSecond = "fill_mb_per_second", unwrittenBytesAfter = "unwritten_bytes_after"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            kind: try c.decode(Kind.self, forKey: .kind), path: try c.decodeIfPresent(String.self, forKey: .path),
            createdByVqtrace: try c.decode(Bool.self, forKey: .createdByVqtrace), createdNow: try c.decode(Bool.self, forKey: .createdNow),
            marked: try c.decode(Bool.self, forKey: .marked), filesystem: try c.decodeIfPresent(String.self, forKey: .filesystem),
            sparse: try c.decode(Bool.self, forKey: .sparse), neededBytes: try c.decode(UInt64.self, forKey: .neededBytes),
            capacityBytes: try c.decode(UInt64.self, forKey: .capacityBytes),
            unwrittenBytesBefore: try c.decode(UInt64.self, forKey: .unwrittenBytesBefore), filledBytes: try c.decode(UInt64.self, forKey: .filledBytes),
            fillSeconds: try c.decode(Double.self, forKey: .fillSeconds), unwrittenBytesAfter: try c.decode(UInt64.self, forKey: .unwrittenBytesAfter),
            detection: try c.decodeIfPresent(FileAllocation.Method.self, forKey: .detection))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(path, forKey: .path)
        try c.encode(createdByVqtrace, forKey: .createdByVqtrace)
        try c.encode(createdNow, forKey: .createdNow)
        try c.encode(marked, forKey: .marked)
        try c.encode(filesystem, forKey: .filesystem)
        try c.encode(sparse, forKey: .sparse)
        try c.encode(neededBytes, forKey: .neededBytes)
        try c.encode(capacityBytes, forKey: .capacityBytes)
        try c.encode(unwrittenBytesBefore, forKey: .unwrittenBytesBefore)
        try c.encode(filledBytes, forKey: .filledBytes)
        try c.encode(fillSeconds, forKey: .fillSeconds)
        try c.encode(fillMBPerSecond, forKey: .fillMBPerSecond)
        try c.encode(unwrittenBytesAfter, forKey: .unwrittenBytesAfter)
        try c.encode(detection, forKey: .detection)
        try c.encode(summary, forKey: .summary)
    }
}

extension TargetPreparation.Kind: Codable {}
extension FileAllocation.Method: Codable {}
