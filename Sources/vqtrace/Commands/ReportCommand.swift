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
              vqtrace report --list
              vqtrace report --sweep 3                         # the text report (Markdown)
              vqtrace report --sweep 3 --out Reports/db1.html  # the format from the extension
              vqtrace report --sweep 3 --vm-host-cpus 8-11 --format md
              vqtrace report --runs 12,13,14,15 --format md
              vqtrace report --sweep 3 --format json | jq .outcome,.answer
              vqtrace report --hosts db1,db2,db3 --catalog postgres://vqtrace@catalog/fleet --format md
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Option(help: "The sweep whose runs to compare; several (one a host) for a fleet report.") var sweep: String?
    @Option(help: "Hosts to compare, comma-separated: each one's newest sweep of one trace.") var hosts: String?
    @Option(help: "Run ids, comma-separated.") var runs: String?
    @Flag(help: "List the catalog's sweeps (id, trace, layouts, complete or not, date) instead.") var list = false
    @Option(help: "html, md or json (default: --out's extension, else the text report, Markdown).") var format: String?
    @Option(help: "Write here (.html, .md, .txt or .json) instead of printing the text report.") var out: String?
    @Flag(help: "Replace --out even when it is not a vqtrace report.") var force = false
    @Option(help: "The baseline layout (default: single when present, else the first).") var baseline: String?
    @OptionGroup var vmHost: VMHostOption

    func run() throws {
        if list { return print(try SweepListing.text(catalog: catalog.open()), terminator: "") }
        var request = try ReportRequest(sweep: sweep, runs: runs, hosts: hosts, format: format, out: out)
        (request.baseline, request.vmHostCPUs, request.force) = (baseline, try vmHost.cpus(), force)
        print(try request.run(catalog: catalog.open()), terminator: "")
    }
}
