#if canImport(Trace)
import Trace
#endif

/// One input file being imported: its lines through a parser, its completions paired, its
/// requests handed out in submit order, each carrying the line it came from.
///
/// Submission times must not go backwards within a file (a merge of several files is the
/// importer's job); a line that breaks that is an error like any other bad line.
final class ImportStream<Parser: TraceLineParser> {
    let cursor: LineCursor
    // One importing thread, per-line hot loop: the runtime exclusivity checks were a fifth of the
    // import time, so they are off (static checking stays).
    @exclusivity(unchecked) private var parser: Parser
    private let devices: DeviceTable
    private let skipBadLines: Bool
    private let pairsCompletions: Bool
    @exclusivity(unchecked) private var pairing = CompletionPairing()
    @exclusivity(unchecked) private var scratch: [ImportedEvent] = []
    @exclusivity(unchecked) private var ready: [ImportedEvent] = []
    @exclusivity(unchecked) private var readyHead = 0
    @exclusivity(unchecked) private var lastSubmitNs: UInt64 = 0
    @exclusivity(unchecked) private var finished = false

    @exclusivity(unchecked) private(set) var skippedLines = 0
    @exclusivity(unchecked) private(set) var maxCPU: UInt32?

    var path: String { cursor.path }
    var linesRead: Int { cursor.lineNumber }
    var ignoredEvents: Int { parser.ignoredEvents }
    var pairedCompletions: Int { pairing.paired }
    var unmatchedCompletions: Int { pairing.unmatchedCompletions }

    /// - Parameter pairsCompletions: false for a first pass that only learns devices and sizes:
    ///   completion events are then dropped and submissions go out at once.
    init(path: String, parser: Parser, devices: DeviceTable, skipBadLines: Bool, pairsCompletions: Bool) throws(ImportError) {
        cursor = try LineCursor(path: path)
        self.parser = parser
        self.devices = devices
        self.skipBadLines = skipBadLines
        self.pairsCompletions = pairsCompletions
        scratch.reserveCapacity(4)
    }

    /// The next request in submit order; nil at the end.
    func next() throws(ImportError) -> ImportedEvent? {
        while true {
            if readyHead < ready.count {
                defer {
                    readyHead += 1
                    if readyHead == ready.count { ready.removeAll(keepingCapacity: true); readyHead = 0 }
                }
                return ready[readyHead]
            }
            if let event = pairing.popReady(finishing: finished) { return event }
            if finished { return nil }
            guard let line = try cursor.next() else {
                finished = true
                continue
            }
            let number = cursor.lineNumber
            scratch.removeAll(keepingCapacity: true)
            do throws(LineProblem) {
                try parser.parse(line, lineNumber: number, devices: devices, into: &scratch)
                for e in scratch where e.kind == .submit {
                    if e.timeNs < lastSubmitNs {
                        throw LineProblem("time \(seconds(e.timeNs)) s is before the previous request's \(seconds(lastSubmitNs)) s (requests must be in time order)")
                    }
                    if let completion = e.completionNs, completion < e.timeNs {
                        throw LineProblem("completes before it is submitted")
                    }
                }
            } catch {
                if skipBadLines {
                    skippedLines += 1
                    continue
                }
                throw ImportError(path: cursor.path, line: number, problem: error.message)
            }
            for var e in scratch {
                e.line = number
                switch e.kind {
                case .submit:
                    lastSubmitNs = e.timeNs
                    if e.type.addressesSectors { devices.reach(e.device, e.endSector) }
                    if e.cpu != ImportedEvent.unknownCPU { maxCPU = max(maxCPU ?? 0, e.cpu) }
                    if pairsCompletions { pairing.submit(e) } else { ready.append(e) }
                case .complete:
                    if pairsCompletions { pairing.complete(e) }
                }
            }
        }
    }
}

func seconds(_ ns: UInt64) -> String {
    let s = ns / 1_000_000_000
    let frac = String(ns % 1_000_000_000)
    return "\(s).\(String(repeating: "0", count: 9 - frac.count))\(frac)"
}
