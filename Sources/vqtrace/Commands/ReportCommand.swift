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
            equivalent, inconclusive or incomplete; only the first two recommend a layout.

            Examples:
              vqtrace report --sweep 3 --out Reports/db1.html
              vqtrace report --sweep 3 --vm-host-cpus 8-11 --format md
              vqtrace report --runs 12,13,14,15 --format md
              vqtrace report --sweep 3 --format json | jq .outcome,.answer
            """)

    enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case html, md, json }

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Option(help: "The sweep whose runs to compare.") var sweep: Int64?
    @Option(help: "Run ids, comma-separated.") var runs: String?
    @Option(help: "html, md or json.") var format: ReportFormat = .html
    @Option(help: "Write here instead of standard output.") var out: String?
    @Option(help: "The baseline layout (default: single when present, else the first).") var baseline: String?
    @OptionGroup var vmHost: VMHostOption

    /// The run ids of --runs, nil when one is not a number.
    var runIds: [Int64]? {
        guard let runs else { return nil }
        let ids = runs.split(separator: ",", omittingEmptySubsequences: false).map { Int64($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return ids.map { $0! }
    }

    func validate() throws {
        guard (sweep == nil) != (runs == nil) else { throw ValidationError("give --sweep ID or --runs ID,ID…") }
        if runs != nil && runIds == nil { throw ValidationError("--runs must list run ids (positive numbers), comma-separated: 12,13,14") }
    }

    func run() throws {
        let open = try catalog.open()
        let title = "IOThread layout comparison"
        var input: ReportInput
        if let sweep {
            // Every run row of the sweep, finished or not, against its plan: an interrupted sweep
            // reports what it is missing.
            input = try ReportLoader.load(sweepId: sweep, catalog: open, title: title, baseline: baseline)
        } else {
            input = try ReportLoader.load(runIds: runIds!, catalog: open, title: title, baseline: baseline)
        }
        input.vmHostCPUs = try vmHost.cpus()
        let model = try ReportModel(input)
        let text: String
        switch format {
        case .html: text = model.html()
        case .md: text = model.markdown()
        case .json: text = try model.jsonText()
        }
        if let out {
            try text.write(toFile: out, atomically: true, encoding: .utf8)
            print("wrote \(out)")
        } else {
            print(text, terminator: "")
        }
    }
}
