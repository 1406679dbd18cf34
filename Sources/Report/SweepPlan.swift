/// What a sweep set out to run, as its `sweep` row stores it, so that a report can tell a
/// finished sweep from one that was interrupted or failed.
public struct SweepPlan: Sendable, Equatable {
    /// The sweep's catalog id, for the report's wording; nil for a plan made up in a program.
    public var sweepId: Int64?
    /// The layouts in the order the sweep ran them; nil when the stored plan does not list them
    /// (demo sweeps before the plan stored them), and then only the runs per layout are checked.
    public var layouts: [String]?
    /// Runs per layout and VM count (`--repeat`).
    public var repeats: Int
    /// The VM counts (`--vms`).
    public var vmCounts: [Int]
    /// Requests in flight per vq (`--qd`), when stored: part of the command that repeats the sweep.
    public var queueDepth: Int?
    /// The command line that started the sweep, shell-quoted, when it was stored.
    public var commandLine: String?
    /// The back-ends each layout ran on, as labels carry them ("engine", "qsd", "serve"); nil
    /// for a sweep of the engine alone.
    public var backEnds: [String]?

    public init(sweepId: Int64? = nil, layouts: [String]?, repeats: Int, vmCounts: [Int] = [1], queueDepth: Int? = nil, commandLine: String? = nil,
                backEnds: [String]? = nil) {
        self.commandLine = commandLine
        self.backEnds = backEnds
        self.sweepId = sweepId
        self.layouts = layouts
        self.repeats = repeats
        self.vmCounts = vmCounts.isEmpty ? [1] : vmCounts
        self.queueDepth = queueDepth
    }

    /// A word as a POSIX shell reads it back: bare when it is plain, else in single quotes.
    public static func shellQuoted(_ word: String) -> String { SweepCommandLine.shellQuoted(word) }

    /// A configuration's label in a report: the layout, and the VM count when there are several
    /// copies ("rr:2 ×8 VMs"); runs of several VMs are compared within their VM count.
    public static func label(_ layout: String, vms: Int) -> String {
        vms > 1 ? "\(layout) ×\(vms) VMs" : layout
    }

    /// The back-end word engine runs leave out of a label.
    public static let engineBackEnd = "engine"

    /// A configuration's label with its back-end when that is not the engine: "single via qsd".
    /// Every back-end outside the engine serves one device, so such labels carry no VM count.
    public static func label(_ layout: String, vms: Int, backEnd: String?) -> String {
        guard let backEnd, backEnd != engineBackEnd else { return label(layout, vms: vms) }
        return layout + backEndSeparator + backEnd
    }

    /// What a label puts between a layout and its back-end.
    static let backEndSeparator = " via "

    /// The layout a configuration's label names, without its VM count or back-end.
    public static func layout(ofLabel label: String) -> String {
        label.components(separatedBy: backEndSeparator)[0].components(separatedBy: " ×")[0]
    }

    /// The back-end a configuration's label names ("qsd" in "single via qsd"); nil for the engine.
    public static func backEnd(ofLabel label: String) -> String? {
        label.range(of: backEndSeparator).map { String(label[$0.upperBound...]) }
    }

    /// The configurations with fewer finished runs than planned, in the sweep's order, given the
    /// finished runs per configuration label. A layout the plan does not list is not checked here.
    public func missing(finished: [String: Int], present: [String]) -> [MissingRuns] {
        let expected: [String]
        if let layouts {
            expected = vmCounts.flatMap { vms in layouts.flatMap { layout in (backEnds ?? [Self.engineBackEnd]).map { Self.label(layout, vms: vms, backEnd: $0) } } }
        } else {
            expected = present
        }
        return expected.compactMap { label in
            let count = finished[label] ?? 0
            return count < repeats ? MissingRuns(configuration: label, finished: count, planned: repeats) : nil
        }
    }
}

/// A planned configuration with fewer finished runs than the plan asked for.
public struct MissingRuns: Sendable, Equatable, CustomStringConvertible {
    /// The configuration's label ("per-vq", "rr:2 ×8 VMs").
    public var configuration: String
    public var finished: Int
    public var planned: Int

    public init(configuration: String, finished: Int, planned: Int) {
        self.configuration = configuration
        self.finished = finished
        self.planned = planned
    }

    /// "rr:2: 0 of 3 runs".
    public var description: String { "\(configuration): \(finished) of \(planned) run\(planned == 1 ? "" : "s")" }
}

/// A run row that started and never stored its results (the sweep was interrupted, or the run
/// failed): a report counts it as missing.
public struct UnfinishedRun: Sendable, Equatable {
    public var id: Int64
    /// The configuration's label, as for finished runs.
    public var configuration: String
    public var startedAt: String?

    public init(id: Int64, configuration: String, startedAt: String? = nil) {
        self.id = id
        self.configuration = configuration
        self.startedAt = startedAt
    }
}
