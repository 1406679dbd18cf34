import BlockBackend
import Catalog
import Foundation
import Layout
import Report

extension Sweep.Event {
    /// The event as a line for a terminal (nil for events that print nothing).
    public func line(for sweep: Sweep, indent: String = "") -> String? {
        switch self {
        case .fewRepeats(let n):
            return "warning: --repeat \(n) gives \(n == 1 ? "one run" : "\(n) runs") per layout: with fewer than \(RepeatEstimate.minimumRuns) the noise is "
                + (n == 1 ? "unknown" : "barely measured (a 95% interval ±12.71 standard errors wide)") + ", so the verdict will likely be inconclusive; use --repeat \(RepeatEstimate.minimumRuns) or more"
        case .oneQueuePerDevice:
            guard sweep.layouts.count > 1 else { return nil }
            return "note: the trace has one vq per device, so every layout serves it with one IOThread: expect no difference between them"
        case .damagedTrace(let bad, let lost, let records):
            return "trace \(sweep.tracePath) is damaged: \(bad) bad chunk\(bad == 1 ? "" : "s") (\(lost) of \(records) records); every run skips them and is marked"
        case .targetPrepared(let preparation):
            return indent + preparation.summary
        case .started(let id, _):
            let backEnds = sweep.usesVhostUser ? " on the back-ends \(sweep.backEnds.map { $0?.label ?? "engine" }.joined(separator: ", "))" : ""
            return "\(indent)sweep \(id): \(sweep.layouts.joined(separator: ", "))\(backEnds) × \(sweep.repeats) on \(sweep.target ?? "the null backend"), "
                + "timing \(sweep.options.timing.rawValue), after one warm-up run"
        case .stored(let round, let label, let result, let runId, let fidelity):
            return "\(indent)  round \(round)  \(label.padding(toLength: max(20, label.count + 1), withPad: " ", startingAt: 0))"
                + String(format: "%9.0f IOPS  (run %lld)", Double(result.engine.requests) / result.engine.wallSeconds, runId)
                + (result.scheduleMissed ? "  WARNING: schedule not kept" : "")
                + (fidelity.map { String(format: "  fidelity: %.2f%% IOPS error, %.2f%% reordered", $0.iopsError * 100, $0.reorderedShare * 100) } ?? "")
        }
    }
}

extension Sweep {
    /// A sweep and its report.
    public struct Reported: Sendable {
        public var outcome: Outcome
        /// The report, when the sweep finished (an interrupted or failed one is reported later,
        /// from the catalog, as incomplete).
        public var model: ReportModel?
        /// The report's HTML, Markdown and JSON files.
        public var files: [String]
    }

    /// Where `vqtrace sweep` writes its report when `--report` is not given.
    public static let defaultReportPath = "Reports/sweep.html"

    /// Runs the sweep, saying each event through `say`, and when every run is stored writes
    /// the report next to `htmlPath`. The report's three names are checked before the first
    /// run: a file there that is not a vqtrace report is refused unless `force`.
    public func runAndReport(in catalog: any CatalogStore, title: String, htmlPath: String, vmHostCPUs: CPUSet? = nil, indent: String = "",
                             force: Bool = false, say: (String) -> Void, shouldStop: (@Sendable () -> Bool)? = nil,
                             fillProgress: TargetFill.ProgressHandler? = nil) throws -> Reported {
        try check()
        try ReportModel.checkFiles(htmlPath: htmlPath, force: force)
        let outcome = try run(in: catalog, events: { event in event.line(for: self, indent: indent).map(say) }, shouldStop: shouldStop, fillProgress: fillProgress)
        guard outcome.isComplete else { return Reported(outcome: outcome, model: nil, files: []) }
        var input = try ReportLoader.load(sweepId: outcome.sweepId, catalog: catalog, title: title, baseline: nil)
        input.vmHostCPUs = vmHostCPUs
        input.reportPath = htmlPath == Self.defaultReportPath ? nil : htmlPath
        let model = try ReportModel(input)
        return Reported(outcome: outcome, model: model, files: try model.write(htmlPath: htmlPath, force: force))
    }
}

extension Sweep {
    /// `runAndReport`, saying each stored run and then the answer and the report's files; an
    /// interrupted sweep throws `Interrupted` and a failed one `SweepError`, after saying what
    /// was stored (the CLI exits 130 or 1).
    public func runAndSay(in catalog: any CatalogStore, title: String, htmlPath: String, vmHostCPUs: CPUSet?, indent: String = "", force: Bool = false,
                          say: (String) -> Void, shouldStop: (@Sendable () -> Bool)? = nil, fillProgress: TargetFill.ProgressHandler? = nil) throws {
        let done = try runAndReport(in: catalog, title: title, htmlPath: htmlPath, vmHostCPUs: vmHostCPUs, indent: indent, force: force, say: say,
                                    shouldStop: shouldStop, fillProgress: fillProgress)
        guard let model = done.model else {
            say(done.outcome.description)
            if done.outcome.interrupted { throw Interrupted() }
            throw SweepError(done.outcome.description)
        }
        say("\n\(indent)\(model.answer.replacingOccurrences(of: "`", with: ""))")
        say("\(indent)report: " + done.files.joined(separator: ", "))
    }
}

/// A sweep that could not finish (a run failed); the runs stored before it stay.
public struct SweepError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
