#if canImport(Glibc)
import Glibc
#endif
#if canImport(Trace)
import Trace
#endif
import Units

/// Imports text traces (one format, one or more files) into a .vqt trace.
///
/// Two streaming passes, each with memory bounded by the in-flight requests, not the input:
/// the first learns the devices, how far each one is addressed and which CPUs submit, and
/// checks every line; the second merges the files by submit time, pairs completions, spreads
/// requests over vqs and writes. Times are rebased so that the first request is at 0. The output
/// is written beside its final name and renamed only when complete: a failed import leaves
/// nothing behind and never clobbers an existing trace.
public struct TraceImporter {
    public var format: ImportFormat
    /// vqs per device; nil: with `--vq-map cpu`, the highest CPU seen + 1, else 1.
    public var queues: Int?
    /// nil: the format's default (`cpu` where lines carry it, else `round-robin`).
    public var vqMap: VQMap?
    /// Capacity of every device; nil: the furthest byte addressed, rounded up to 1 MiB.
    public var capacityBytes: UInt64?
    /// The unit of the timestamps in ns, for the formats whose dialects differ.
    public var timeUnitNs: UInt64?
    /// Keep going past bad lines (counted) instead of stopping at the first.
    public var skipBadLines = false
    /// Replace a trace already at the output path (otherwise the import refuses it).
    public var replaceExisting = false
    /// Asked every 65,536 requests: true stops the import (nothing is left behind).
    public var shouldStop: (() -> Bool)?
    /// Called about every 64 Ki requests with the pass (1 or 2), the bytes read and the bytes in all.
    public var progress: ((_ pass: Int, _ bytesRead: UInt64, _ bytesTotal: UInt64) -> Void)?

    public init(format: ImportFormat) { self.format = format }

    public struct Result: Sendable {
        public var totals: TraceTotals
        public var format: ImportFormat
        /// The lines read in all files.
        public var lines: Int
        public var skippedLines: Int
        /// Each device's name in the source (`8,0`, a file name, a volume id…), by device index.
        public var deviceKeys: [String]
        public var queues: Int
        public var vqMap: VQMap
        /// Source events a trace does not keep (blktrace actions other than Q and C, `N` ops).
        public var ignoredEvents: Int
        public var pairedCompletions: Int
        public var unmatchedCompletions: Int
    }

    public func run(paths: [String], out: String) throws(ImportError) -> Result {
        guard !paths.isEmpty else { throw ImportError(path: out, line: 0, problem: "no input files", usage: true) }
        if timeUnitNs != nil && format.adjustableTimeUnitNs == nil {
            throw ImportError(path: paths[0], line: 0, problem: "--time-unit does not apply to \(format.rawValue), whose timestamps have a fixed unit", usage: true)
        }
        let map = vqMap ?? format.defaultVQMap
        if (map == .cpu || map == .pid) && !format.hasCPUAndPID {
            throw ImportError(path: paths[0], line: 0, problem: "--vq-map \(map.rawValue) needs CPU and process fields, which \(format.rawValue) lines do not have; use round-robin or hash", usage: true)
        }
        if let queues, !(1...1024).contains(queues) { throw ImportError(path: out, line: 0, problem: "queues must be 1...1024, not \(queues)", usage: true) }
        // The output is checked before the first pass, not found unwritable after it.
        do { try PartialFile.check(path: out, replaceExisting: replaceExisting) } catch {
            throw ImportError(path: out, line: 0, problem: "cannot write the trace: \(error)", usage: usageMistake(in: error) != nil)
        }
        return try format.withParser(timeUnitNs: timeUnitNs) { (prototype) throws(ImportError) in
            try run(paths: paths, out: out, map: map, prototype: prototype)
        }
    }

    private func run<P: TraceLineParser>(paths: [String], out: String, map: VQMap, prototype: P) throws(ImportError) -> Result {
        let devices = DeviceTable()
        let totalBytes = paths.reduce(UInt64(0)) { sum, path in
            var info = stat()
            return sum + (stat(path, &info) == 0 ? UInt64(info.st_size) : 0)
        }

        // Pass 1: devices, their extent, CPUs; every line checked.
        var maxCPU: UInt32?
        var bytesBefore: UInt64 = 0
        var requests = 0
        var lines = 0
        for path in paths {
            let stream = try ImportStream(path: path, parser: prototype, devices: devices, skipBadLines: skipBadLines, pairsCompletions: false)
            var n = 0
            while try stream.next() != nil {
                n += 1
                if n & 0xFFFF == 0 {
                    progress?(1, bytesBefore + stream.cursor.bytesRead, totalBytes)
                    if shouldStop?() == true { throw ImportError(path: out, line: 0, problem: "interrupted") }
                }
            }
            if let cpu = stream.maxCPU { maxCPU = max(maxCPU ?? 0, cpu) }
            bytesBefore += stream.cursor.bytesRead
            requests += n
            lines += stream.linesRead
        }
        guard requests > 0 else {
            throw ImportError(path: paths.joined(separator: ", "), line: 0, problem: "\(lines) lines and no \(format.rawValue) requests in them")
        }
        let queueCount = queues ?? (map == .cpu ? min(1024, Int(maxCPU ?? 0) + 1) : 1)
        let capacities: [UInt64] = devices.endSectors.map { end in
            capacityBytes ?? max(1 << 20, (end * 512 + (1 << 20) - 1) / (1 << 20) * (1 << 20))
        }
        if let capacityBytes, capacityBytes % 512 != 0 || capacityBytes == 0 {
            throw ImportError(path: out, line: 0, problem: "capacity \(capacityBytes) is not a positive multiple of 512 bytes")
        }

        var parameters: [String: String] = [
            "file": paths[0], "files": paths.joined(separator: ", "), "format": format.rawValue,
            "vq_map": map.rawValue, "queues": "\(queueCount)",
        ]
        if let timeUnitNs { parameters["time_unit_ns"] = "\(timeUnitNs)" }
        for (i, key) in devices.keys.enumerated() { parameters["device.\(Self.deviceName(i))"] = key }
        let metadata = TraceMetadata(
            devices: devices.keys.indices.map { .init(name: Self.deviceName($0), capacitySectors: capacities[$0] / 512, numQueues: UInt16(queueCount)) },
            source: .init(kind: "import", name: format.rawValue, parameters: parameters))

        // The writer keeps the trace as OUT.partial until finished, and removes it if the import
        // fails or is interrupted (the writer is dropped unfinished).
        let writer: TraceWriter
        do { writer = try TraceWriter(path: out, metadata: metadata, options: .init(fsync: .close, replaceExisting: replaceExisting)) } catch {
            throw ImportError(path: out, line: 0, problem: "cannot write the trace: \(error)", usage: usageMistake(in: error) != nil)
        }

        // Pass 2: merge the files by time, pair completions, assign vqs, write.
        let streams = try paths.map { (path) throws(ImportError) in
            try ImportStream(path: path, parser: prototype, devices: devices, skipBadLines: skipBadLines, pairsCompletions: format.hasCompletionEvents)
        }
        var heads: [ImportedEvent?] = []
        var order = MinHeap<MergeHead>()
        for (i, stream) in streams.enumerated() {
            let head = try stream.next()
            heads.append(head)
            if let head { order.push(MergeHead(timeNs: head.timeNs, stream: i)) }
        }
        var roundRobin = [Int](repeating: 0, count: devices.count)
        var origin: UInt64?
        var written = 0
        var skippedPastCapacity = 0
        while let top = order.popMin() {
            let event = heads[top.stream]!
            let stream = streams[top.stream]
            if let next = try stream.next() {
                heads[top.stream] = next
                order.push(MergeHead(timeNs: next.timeNs, stream: top.stream))
            } else {
                heads[top.stream] = nil
            }
            let base = origin ?? event.timeNs
            origin = base
            if event.type.addressesSectors && event.endSector * 512 > capacities[event.device] {
                let problem = "\(event.type) at sector \(event.sector) + \(event.length) bytes runs past the capacity of \(capacities[event.device]) bytes"
                if skipBadLines {
                    skippedPastCapacity += 1
                    continue
                }
                throw ImportError(path: stream.path, line: event.line, problem: problem)
            }
            let vq: Int
            switch map {
            case .cpu: vq = event.cpu == ImportedEvent.unknownCPU ? 0 : Int(event.cpu) % queueCount
            case .pid: vq = Int(event.pid) % queueCount
            case .roundRobin:
                vq = roundRobin[event.device] % queueCount
                roundRobin[event.device] &+= 1
            case .hash: vq = Int((event.sector &* 0x9E37_79B9_7F4A_7C15) >> 40) % queueCount
            }
            let record = TraceRecord(device: UInt16(event.device), vq: UInt16(vq), type: event.type, sector: event.sector, length: event.length,
                                     submitNs: event.timeNs - base, completionNs: event.completionNs.map { $0 - base }, status: event.status)
            do { try writer.append(record) } catch {
                throw ImportError(path: stream.path, line: event.line, problem: "\(error)")
            }
            written += 1
            if written & 0xFFFF == 0 {
                progress?(2, streams.reduce(0) { $0 + $1.cursor.bytesRead }, totalBytes)
                if shouldStop?() == true { throw ImportError(path: out, line: 0, problem: "interrupted") }
            }
        }
        let totals: TraceTotals
        do { totals = try writer.finish() } catch { throw ImportError(path: out, line: 0, problem: "cannot finish the trace: \(error)") }
        progress?(2, totalBytes, totalBytes)
        return Result(
            totals: totals, format: format, lines: streams.reduce(0) { $0 + $1.linesRead },
            skippedLines: streams.reduce(0) { $0 + $1.skippedLines } + skippedPastCapacity, deviceKeys: devices.keys, queues: queueCount, vqMap: map,
            ignoredEvents: streams.reduce(0) { $0 + $1.ignoredEvents }, pairedCompletions: streams.reduce(0) { $0 + $1.pairedCompletions },
            unmatchedCompletions: streams.reduce(0) { $0 + $1.unmatchedCompletions })
    }

    /// Linux's names for virtio disks: vda…vdz, vdaa…
    static func deviceName(_ index: Int) -> String {
        var n = index
        var letters = ""
        repeat {
            letters = String(UnicodeScalar(UInt8(97 + n % 26))) + letters
            n = n / 26 - 1
        } while n >= 0
        return "vd" + letters
    }

    private struct MergeHead: Comparable {
        var timeNs: UInt64
        var stream: Int
        static func < (a: MergeHead, b: MergeHead) -> Bool { (a.timeNs, a.stream) < (b.timeNs, b.stream) }
    }
}
