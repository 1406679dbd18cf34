import Catalog
import Foundation
import Layout
import Report
import Units

/// What `vqtrace report` is asked for, checked before the catalog is read: which runs (a
/// sweep, several sweeps, hosts, or run ids), and where the report goes in which format.
public struct ReportRequest: Sendable {
    public enum Selection: Sendable, Equatable {
        case sweeps([Int64])
        case runs([Int64])
        case hosts([String])
    }

    public var selection: Selection
    /// The format: given, else the output's extension, else Markdown (the text report).
    public var format: ReportFormat
    /// The file to write; nil prints the report.
    public var out: String?
    public var baseline: String?
    public var vmHostCPUs: CPUSet?
    /// Replace an output file that is not a vqtrace report.
    public var force = false
    public var title = "IOThread layout comparison"

    /// The request the CLI's options make (each a usage mistake when wrong): exactly one of
    /// `sweep` ("3" or "3,4,5"), `runs` ("12,13") and `hosts` ("db1,db2"); `format` html, md
    /// or json, and when both it and `out` are given, they must agree.
    public init(sweep: String?, runs: String?, hosts: String?, format: String?, out: String?) throws {
        guard [sweep, runs, hosts].compactMap({ $0 }).count == 1 else {
            throw ReportError.usage("give --sweep ID[,ID…], --runs ID,ID… or --hosts A,B (or --list to see the sweeps)")
        }
        if let sweep {
            guard let ids = Self.ids(sweep) else { throw ReportError.usage("--sweep must list sweep ids (positive numbers), comma-separated: 3 or 3,4,5; not \(sweep)") }
            selection = .sweeps(ids)
        } else if let runs {
            guard let ids = Self.ids(runs) else { throw ReportError.usage("--runs must list run ids (positive numbers), comma-separated: 12,13,14; not \(runs)") }
            selection = .runs(ids)
        } else {
            let names = hosts!.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw ReportError.usage("--hosts must list host names, comma-separated: db1,db2") }
            selection = .hosts(names)
        }
        let given = try format.map { name throws -> ReportFormat in
            guard let f = ReportFormat(rawValue: name.lowercased()) else { throw ReportError.usage("--format must be html, md or json, not \(name)") }
            return f
        }
        let implied = try out.map { try ReportFormat.of(output: $0) }
        if let given, let implied, given != implied {
            throw ReportError.usage("--format \(given.rawValue) and --out \(out!) (a .\((out! as NSString).pathExtension) name, \(implied.rawValue)) disagree; give one of them")
        }
        self.format = given ?? implied ?? .md
        self.out = out
    }

    /// The ids of a list such as 12,13,14; nil when one is not a positive number.
    static func ids(_ list: String) -> [Int64]? {
        let ids = list.split(separator: ",", omittingEmptySubsequences: false).map { Int64($0.trimmingCharacters(in: .whitespaces)) }
        return !ids.isEmpty && ids.allSatisfy({ ($0 ?? 0) > 0 }) ? ids.map { $0! } : nil
    }

    /// The report's text in `format`.
    public func text(catalog: any CatalogStore) throws -> String {
        switch selection {
        case .hosts(let hosts):
            return try FleetReportLoader.load(hosts: hosts, catalog: catalog, baseline: baseline).text(format)
        case .sweeps(let ids) where ids.count > 1:
            return try FleetReportLoader.load(sweepIds: ids, catalog: catalog, baseline: baseline).text(format)
        case .sweeps(let ids):
            // Every run row of the sweep, finished or not, against its plan: an interrupted sweep
            // reports what it is missing.
            var input = try ReportLoader.load(sweepId: ids[0], catalog: catalog, title: title, baseline: baseline)
            input.vmHostCPUs = vmHostCPUs
            return try ReportModel(input).text(format)
        case .runs(let ids):
            var input = try ReportLoader.load(runIds: ids, catalog: catalog, title: title, baseline: baseline)
            input.vmHostCPUs = vmHostCPUs
            return try ReportModel(input).text(format)
        }
    }

    /// Makes the report and writes it to `out` (whole or not at all, `ReportFile`), or returns it
    /// for printing; returns what to print.
    public func run(catalog: any CatalogStore) throws -> String {
        if let out { try ReportFile.check(out, force: force) }
        let text = try text(catalog: catalog)
        guard let out else { return text }
        try ReportFile.write(text, format: format, to: out, force: force)
        return "wrote \(out)\n"
    }
}

/// The catalog's sweeps as `vqtrace report --list` prints them.
public enum SweepListing {
    public struct Entry: Sendable, Equatable {
        public var id: Int64
        public var trace: String
        public var layouts: [String]
        /// Finished runs against the plan's.
        public var finished: Int
        public var planned: Int
        public var createdAt: String
        public var host: String
        public var isComplete: Bool { finished >= planned }
    }

    /// Every sweep, oldest first, with its trace (the catalog's name, else the runs' path) and
    /// how many of its planned runs finished.
    public static func entries(catalog: any CatalogStore) throws -> [Entry] {
        try catalog.sweeps().map { sweep in
            let parameters = try? SweepParameters.decode(sweep.parametersJSON)
            let runs = try catalog.runs(sweepId: sweep.id)
            let layouts = parameters?.layouts ?? Array(Set(runs.map(\.layoutSpec))).sorted()
            let planned = (parameters?.repeats ?? 1) * layouts.count * max(parameters?.vms?.count ?? 1, 1)
            let trace = (try? sweep.traceId.map { try catalog.find("\($0)").name }) ?? nil
            return Entry(id: sweep.id, trace: trace ?? runs.first.map { ($0.tracePath as NSString).lastPathComponent } ?? "–", layouts: layouts,
                         finished: runs.filter(\.isFinished).count, planned: planned, createdAt: sweep.createdAt, host: sweep.host)
        }
    }

    /// A table, or a sentence when there are no sweeps.
    public static func text(catalog: any CatalogStore) throws -> String {
        let entries = try entries(catalog: catalog)
        guard !entries.isEmpty else { return "no sweeps in \(catalog.location) (run one: vqtrace sweep TRACE --target FILE)\n" }
        var rows = [["sweep", "trace", "layouts", "runs", "state", "created", "host"]]
        for e in entries {
            rows.append(["\(e.id)", e.trace, e.layouts.joined(separator: ","), "\(e.finished)/\(e.planned)",
                         e.isComplete ? "complete" : "incomplete", e.createdAt, e.host])
        }
        return TextFormat.table(rows, rightAligned: [0, 3]) + "report one: vqtrace report --sweep ID\n"
    }
}
