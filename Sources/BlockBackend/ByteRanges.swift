/// Byte ranges of a file as sorted, disjoint, non-adjacent lists: the shape every preparation
/// step (what a run needs, what a file holds, what gets filled) exchanges.
enum ByteRanges {
    /// `ranges` sorted, with overlapping and touching ranges merged and empty ones dropped.
    static func normalized(_ ranges: [Range<UInt64>]) -> [Range<UInt64>] {
        var out: [Range<UInt64>] = []
        for r in ranges.filter({ !$0.isEmpty }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, r.lowerBound <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// The bytes in both lists (each normalized).
    static func intersection(_ a: [Range<UInt64>], _ b: [Range<UInt64>]) -> [Range<UInt64>] {
        var out: [Range<UInt64>] = []
        var i = 0, j = 0
        while i < a.count && j < b.count {
            let low = max(a[i].lowerBound, b[j].lowerBound)
            let high = min(a[i].upperBound, b[j].upperBound)
            if low < high { out.append(low..<high) }
            if a[i].upperBound < b[j].upperBound { i += 1 } else { j += 1 }
        }
        return normalized(out)
    }

    /// Each range clipped to [0, limit).
    static func clipped(_ ranges: [Range<UInt64>], to limit: UInt64) -> [Range<UInt64>] {
        normalized(ranges.compactMap { r in r.lowerBound < limit ? r.lowerBound..<min(r.upperBound, limit) : nil })
    }

    /// Each range widened to multiples of `alignment` (O_DIRECT writes must be aligned), then
    /// clipped to `limit` (the end of the file, which need not be aligned).
    static func aligned(_ ranges: [Range<UInt64>], to alignment: UInt64, limit: UInt64) -> [Range<UInt64>] {
        clipped(ranges.map { r in
            let low = r.lowerBound / alignment * alignment
            let high = (r.upperBound + alignment - 1) / alignment * alignment
            return low..<high
        }, to: limit)
    }

    static func total(_ ranges: [Range<UInt64>]) -> UInt64 { ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) } }
}
