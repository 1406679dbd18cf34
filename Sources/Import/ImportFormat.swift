import Foundation
/// The text trace formats `vqtrace import` reads.
public enum ImportFormat: String, CaseIterable, Sendable {
    case fioIolog = "fio-iolog"
    case blkparse
    case ftraceBlk = "ftrace-blk"
    case msr
    case disksim
    case alibaba
    case tencent

    /// The unit of the format's timestamps, in ns, where `--time-unit` may change it; nil where the
    /// format fixes it (fio µs, blkparse and ftrace seconds, MSR FILETIME).
    public var adjustableTimeUnitNs: UInt64? {
        switch self {
        case .disksim: return 1_000_000
        case .alibaba: return 1000
        case .tencent: return 1_000_000_000
        case .fioIolog, .blkparse, .ftraceBlk, .msr: return nil
        }
    }

    /// Whether lines carry the submitting CPU and process (for `--vq-map cpu|pid`).
    public var hasCPUAndPID: Bool { self == .blkparse || self == .ftraceBlk }

    /// Whether completions come as separate events to pair with submissions.
    public var hasCompletionEvents: Bool { self == .blkparse || self == .ftraceBlk }

    /// How `--vq-map` spreads requests when the user does not say.
    public var defaultVQMap: VQMap { hasCPUAndPID ? .cpu : .roundRobin }

    /// One line for `--help` and messages: what the format is and how its lines read.
    public var summary: String {
        switch self {
        case .fioIolog: return "fio --write_iolog output, v2 (wait lines) or v3 (µs timestamps)"
        case .blkparse: return "blkparse default text; Q events are submissions, C completions"
        case .ftraceBlk: return "the ftrace blk tracer's text (current_tracer = blk)"
        case .msr: return "MSR Cambridge CSV (FILETIME,host,disk,Read|Write,bytes…)"
        case .alibaba: return "Alibaba block CSV (device,R|W,offset,length in bytes,µs)"
        case .tencent: return "Tencent CBS CSV (seconds,offset,size in sectors,0|1 = R|W,volume)"
        case .disksim: return "DiskSim ASCII (ms device block size flags; flags bit 0 = read)"
        }
    }

    /// Every format a line each, as `vqtrace import --help` lists them.
    public static var help: String {
        allCases.map { "  " + $0.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n")
    }

    /// A parser for this format; `timeUnitNs` overrides the default unit where that is adjustable.
    func withParser<R, E: Error>(timeUnitNs: UInt64?, _ body: (any TraceLineParser) throws(E) -> R) throws(E) -> R {
        switch self {
        case .fioIolog: return try body(FioIologParser())
        case .blkparse: return try body(BlkparseParser())
        case .ftraceBlk: return try body(FtraceBlkParser())
        case .msr: return try body(MSRCambridgeParser())
        case .disksim: return try body(DiskSimParser(timeUnitNs: timeUnitNs ?? 1_000_000))
        case .alibaba: return try body(AlibabaBlockParser(timeUnitNs: timeUnitNs ?? 1000))
        case .tencent: return try body(TencentCBSParser(timeUnitNs: timeUnitNs ?? 1_000_000_000))
        }
    }

    /// The format of a file, from its first lines: the first format (in an order that puts the
    /// most specific first) whose parser reads every one of them and finds a request. Returns the
    /// format and how many lines decided it.
    public static func detect(path: String, lines maxLines: Int = 20) throws(ImportError) -> (format: ImportFormat, lines: Int) {
        let cursor = try LineCursor(path: path)
        var sample: [[UInt8]] = []
        while sample.count < maxLines, let line = try cursor.next() { sample.append(Array(line)) }
        guard sample.contains(where: { !$0.isEmpty }) else { throw ImportError(path: path, line: 0, problem: "is empty: nothing to import") }
        for format in [ImportFormat.fioIolog, .ftraceBlk, .blkparse, .msr, .alibaba, .tencent, .disksim] {
            if format.reads(sample) { return (format, sample.count) }
        }
        throw ImportError(path: path, line: 0, problem: "the first \(sample.count) lines match no format vqtrace reads (\(allCases.map(\.rawValue).joined(separator: ", "))); name it with --format")
    }

    private func reads(_ sample: [[UInt8]]) -> Bool {
        withParser(timeUnitNs: nil) { prototype in
            var parser = prototype
            let devices = DeviceTable()
            var events: [ImportedEvent] = []
            for (i, line) in sample.enumerated() {
                let ok = line.withUnsafeBytes { bytes in
                    do throws(LineProblem) {
                        try parser.parse(bytes, lineNumber: i + 1, devices: devices, into: &events)
                        return true
                    } catch { return false }
                }
                // A last line cut short by the sample is not held against the format.
                if !ok && i < sample.count - 1 { return false }
            }
            return !events.isEmpty || (self == .fioIolog && devices.count > 0)
        }
    }
}

/// How imported requests are spread over a device's vqs.
public enum VQMap: String, CaseIterable, Sendable {
    /// The submitting CPU, modulo the queue count (blkparse and ftrace): the guest's per-vCPU queues.
    case cpu
    /// Each device's requests in turn.
    case roundRobin = "round-robin"
    /// A hash of the sector: requests to the same place share a vq.
    case hash
    /// The submitting process id, modulo the queue count (blkparse and ftrace).
    case pid
}

/// A unit of the timestamps of the formats whose dialects differ (`--time-unit`).
public enum ImportTimeUnit: String, CaseIterable, Sendable {
    case ns, us, ms, s
    public var nanoseconds: UInt64 { [.ns: 1, .us: 1000, .ms: 1_000_000, .s: 1_000_000_000][self]! }
}
