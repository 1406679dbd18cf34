import ArgumentParser
import Catalog
import Report
import Runs

/// `vqtrace report`: a report from stored runs.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a comparison report from runs in the catalog (a sweep, or any runs).",
        discussion: """
            A sweep's report is checked against the sweep's plan (its layouts, --repeat and --vms): \
            when runs are missing or never finished (the sweep was interrupted or failed) the \
            report says which and recommends nothing. The answer's outcome is winner, \
            equivalent, inconclusive or incomplete; only the first two recommend a layout. \
            Several sweeps (one a host), or --hosts, compare the same trace across hosts: a \
            table per metric with hosts × layouts, and whether the winner holds on every host.

            Examples:
              vqtrace report --sweep 3 --out Reports/db1.html
              vqtrace report --sweep 3 --vm-host-cpus 8-11 --format md
              vqtrace report --runs 12,13,14,15 --format md
              vqtrace report --sweep 3 --format json | jq .outcome,.answer
              vqtrace report --hosts db1,db2,db3 --catalog postgres://vqtrace@catalog/fleet --format md
            """)

    enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case html, md, json }

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Option(help: "The sweep whose runs to compare; several (one a host) for a fleet report.") var sweep: String?
    @Option(help: "Hosts to compare, comma-separated: each one's newest sweep of one trace.") var hosts: String?
    @Option(help: "Run ids, comma-separated.") var runs: String?
    @Option(help: "html, md or json.") var format: ReportFormat = .html
    @Option(help: "Write here instead of standard output.") var out: String?
    @Option(help: "The baseline layout (default: single when present, else the first).") var baseline: String?
    @OptionGroup var vmHost: VMHostOption

    /// The ids of a list such as --runs 12,13,14; nil when one is not a positive number.
    static func ids(_ list: String?) -> [Int64]? {
        let ids = list?.split(separator: ",", omittingEmptySubsequences: false).map { Int64($0.trimmingCharacters(in: .whitespaces)) } ?? []
        return !ids.isEmpty && ids.allSatisfy({ ($0 ?? 0) > 0 }) ? ids.map { $0! } : nil
    }

    func validate() throws {
        guard [sweep, runs, hosts].compactMap({ $0 }).count == 1 else { throw ValidationError("give --sweep ID[,ID…], --runs ID,ID… or --hosts A,B") }
        if sweep != nil && Self.ids(sweep) == nil { throw ValidationError("--sweep must list sweep ids (positive numbers), comma-separated: 3 or 3,4,5") }
        if runs != nil && Self.ids(runs) == nil { throw ValidationError("--runs must list run ids (positive numbers), comma-separated: 12,13,14") }
    }

    func run() throws {
        let open = try catalog.open()
        let title = "IOThread layout comparison"
        let sweeps = Self.ids(sweep) ?? []
        let text: String
        if sweeps.count > 1 || hosts != nil {
            let fleet = try hosts.map { try FleetReportLoader.load(hosts: $0.split(separator: ",").map(String.init), catalog: open, baseline: baseline) }
                ?? FleetReportLoader.load(sweepIds: sweeps, catalog: open, baseline: baseline)
            text = format == .html ? fleet.html() : format == .md ? fleet.markdown() : try fleet.jsonText()
        } else {
            // Every run row of the sweep, finished or not, against its plan: an interrupted sweep
            // reports what it is missing.
            var input = try sweeps.first.map { try ReportLoader.load(sweepId: $0, catalog: open, title: title, baseline: baseline) }
                ?? ReportLoader.load(runIds: Self.ids(runs)!, catalog: open, title: title, baseline: baseline)
            input.vmHostCPUs = try vmHost.cpus()
            let model = try ReportModel(input)
            text = format == .html ? model.html() : format == .md ? model.markdown() : try model.jsonText()
        }
        if let out {
            try text.write(toFile: out, atomically: true, encoding: .utf8)
            print("wrote \(out)")
        } else {
            print(text, terminator: "")
        }
    }
}
