/// The byte ranges a trace reads in a time window, per device, coalesced to a granularity: what
/// a sparse replay target has to hold real data in (reads of holes would measure the kernel's
/// zero-fill, not the disk) without allocating the whole capacity.
///
/// One pass over the window (the records stream through a cursor, one chunk in memory); the
/// ranges are kept as a bitmap of granules per device, so memory is capacity ÷ granularity bits
/// (128 KiB for 1 TiB at the default 1 MiB), whatever the number of requests.
public struct TraceFootprint: Sendable, Equatable {
    /// The default granule: large enough that filling is a few large sequential writes and the
    /// file keeps few extents, small enough that a trace reading a small part of a large device
    /// fills a small part of the file.
    public static let defaultGranularity: UInt64 = 1 << 20

    /// Ranges are multiples of this (clipped to the device's capacity at the end).
    public let granularity: UInt64
    /// Per trace device (the order of `TraceMetadata.devices`): sorted, disjoint, non-adjacent
    /// byte ranges that the window's reads touch, widened to whole granules.
    public let devices: [[Range<UInt64>]]
    /// Read requests counted (writes too, with `writesAsReads`).
    public let reads: UInt64
    /// Where the pass stopped early: a damaged chunk (the replay's stream ends there too).
    public let error: String?

    /// Every device's ranges merged: devices replayed onto one target share its byte offsets.
    public var union: [Range<UInt64>] {
        var merged: [Range<UInt64>] = []
        for r in devices.flatMap({ $0 }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    /// Bytes in `union`.
    public var bytes: UInt64 { union.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) } }

    /// The footprint of `reader`'s reads submitted in [from, to) on `queues` (nil: all).
    /// - Parameters:
    ///   - writesAsReads: count writes too (a replay that turns writes into reads).
    ///   - granularity: a power of two, at least 512.
    public init(reader: TraceReader, from: UInt64 = 0, to: UInt64 = .max, queues: Set<QueueKey>? = nil,
                writesAsReads: Bool = false, granularity: UInt64 = TraceFootprint.defaultGranularity) {
        precondition(granularity >= 512 && granularity & (granularity - 1) == 0, "the granularity must be a power of two of at least 512")
        self.granularity = granularity
        let shift = UInt64(granularity.trailingZeroBitCount)
        let capacities = reader.metadata.devices.map { $0.capacitySectors * 512 }
        var maps = capacities.map { [UInt64](repeating: 0, count: Int((($0 + granularity - 1) >> shift + 63) / 64)) }
        var count: UInt64 = 0
        var stopped: String?
        var cursor = reader.cursor(from: from, to: to, queues: queues)
        do {
            while let record = try cursor.next() {
                guard record.type == .read || (writesAsReads && record.type == .write), record.length > 0 else { continue }
                let device = Int(record.device)
                guard device < capacities.count else { continue }
                let start = record.sector &* 512
                // Requests past the capacity fail in the device; they read nothing.
                guard record.sector < capacities[device] / 512, start < capacities[device] else { continue }
                let end = min(start + UInt64(record.length), capacities[device])
                count += 1
                var granule = start >> shift
                let last = (end - 1) >> shift
                while granule <= last {
                    maps[device][Int(granule >> 6)] |= 1 << (granule & 63)
                    granule += 1
                }
            }
        } catch {
            stopped = error.description
        }
        reads = count
        error = stopped
        devices = zip(maps, capacities).map { map, capacity in
            var ranges: [Range<UInt64>] = []
            var runStart: UInt64?
            let granules = (capacity + granularity - 1) >> shift
            var g: UInt64 = 0
            while g <= granules {
                let set = g < granules && map[Int(g >> 6)] & (1 << (g & 63)) != 0
                if set && runStart == nil { runStart = g }
                if !set, let s = runStart {
                    ranges.append((s << shift)..<min(g << shift, capacity))
                    runStart = nil
                }
                // Skip empty words quickly: most of a large device is never read.
                if !set && runStart == nil && g & 63 == 0 && g + 64 <= granules && map[Int(g >> 6)] == 0 {
                    g += 64
                    continue
                }
                g += 1
            }
            return ranges
        }
    }
}
