import Foundation

/// The same trace and layouts measured on several hosts of a fleet, side by side: one table per
/// metric with a row per host and a column per layout, and an answer that says whether the
/// winner holds on every host or which host differs (and how). Each host's own comparison is
/// the single-host report's (`ReportModel`): the same statistics decide its outcome.
public struct FleetReport: Sendable {
    /// One host's sweep and its comparison.
    public struct Host: Sendable {
        public var name: String
        public var sweepId: Int64
        public var model: ReportModel

        public init(name: String, sweepId: Int64, model: ReportModel) {
            self.name = name
            self.sweepId = sweepId
            self.model = model
        }

        /// The layout this host's runs choose: the winner, or the baseline when they measured
        /// the layouts equivalent; nil when they cannot say (inconclusive, incomplete).
        public var choice: String? {
            switch model.outcome {
            case .winner: return model.verdict.winner
            case .equivalent: return model.input.baseline
            default: return nil
            }
        }

        /// "+41.20%" for the chosen layout against the baseline, "" for the baseline itself.
        var gain: String {
            guard let choice, let change = model.results.first(where: { $0.spec == choice })?.change else { return "" }
            return " " + ReportModel.percent(change)
        }
    }

    /// A metric's table: hosts × layouts, the mean and its 95% interval.
    public struct Table: Sendable {
        public var metric: String
        public var unit: String
        /// [host][layout]: nil where that host has no runs of that layout.
        public var cells: [[(mean: Double, ci95: Double)?]]
    }

    public let hosts: [Host]
    public let layouts: [String]
    public let baseline: String
    public let tables: [Table]
    /// The layout most hosts choose, and whether every host chooses it.
    public let choice: String?
    public let holdsOnEveryHost: Bool
    /// The hosts whose answer is not `choice`, each with why.
    public let differing: [(host: String, why: String)]
    public let answer: String

    public init(hosts: [Host]) throws {
        guard hosts.count >= 2 else { throw ReportError("a fleet report compares two hosts or more; give --sweep ID,ID… or --hosts A,B") }
        self.hosts = hosts
        var layouts: [String] = []
        for host in hosts { for result in host.model.results where !layouts.contains(result.spec) { layouts.append(result.spec) } }
        self.layouts = layouts
        baseline = hosts[0].model.input.baseline
        let metrics: [(String, String, (LayoutResult) -> Summary)] = [
            ("IOPS", "", { $0.iops }), ("MB/s", "", { $0.bytesPerSecond.scaled(1e-6) }), ("latency p50", "µs", { $0.p50.scaled(1e-3) }),
            ("latency p99", "µs", { $0.p99.scaled(1e-3) }), ("latency p99.9", "µs", { $0.p999.scaled(1e-3) }), ("IOThread CPU", "%", { $0.iothreadCPU }),
        ]
        tables = metrics.map { name, unit, value in
            Table(metric: name, unit: unit, cells: hosts.map { host in
                layouts.map { spec in host.model.results.first { $0.spec == spec }.map { let s = value($0); return (s.mean, s.ci95) } }
            })
        }
        // The majority's choice; ties go to the first host's.
        let choices = hosts.compactMap(\.choice)
        let counts = Dictionary(choices.map { ($0, 1) }, uniquingKeysWith: +)
        let best = counts.values.max() ?? 0
        let choice = choices.first { counts[$0] == best }
        self.choice = choice
        let holds = choice != nil && hosts.allSatisfy { $0.choice == choice }
        holdsOnEveryHost = holds
        let differing: [(host: String, why: String)] = hosts.compactMap { host in
            if host.choice == choice && choice != nil { return nil }
            if let other = host.choice {
                return (host.name, other == host.model.input.baseline && host.model.outcome == .equivalent
                    ? "the layouts measure equivalent there: keep \(other)" : "\(other) wins there\(host.gain)")
            }
            // The closest contender, in a few words; the host's own report has the whole answer.
            let contender = host.model.results.filter { $0.spec != host.model.input.baseline && $0.change != nil }
                .max { abs($0.change!) < abs($1.change!) }
            let detail = host.model.outcome == .incomplete ? "runs are missing"
                : contender.map { "\($0.spec) \(ReportModel.percent($0.change!)) IOPS against \(host.model.input.baseline), not beyond the noise" } ?? "too few runs"
            return (host.name, "\(host.model.outcome.rawValue) (\(detail); `vqtrace report --sweep \(host.sweepId)` says more)")
        }
        self.differing = differing
        let names = hosts.map { "\($0.name)\($0.gain)" }.joined(separator: ", ")
        let baseline = self.baseline
        if holds, let choice {
            answer = choice == baseline && hosts.allSatisfy({ $0.model.outcome == .equivalent })
                ? "Keep \(choice) on every host: the layouts measure equivalent on \(hosts.map(\.name).joined(separator: ", "))."
                : "\(choice) wins on every host (\(names) IOPS against \(baseline))."
        } else if let choice {
            let agree = hosts.filter { $0.choice == choice }.map { "\($0.name)\($0.gain)" }.joined(separator: ", ")
            answer = "\(choice) wins on \(agree), but not everywhere: "
                + differing.map { "on \($0.host) \($0.why)" }.joined(separator: "; ") + "."
        } else {
            answer = "No host's runs tell the layouts apart yet: " + differing.map { "\($0.host) is \($0.why)" }.joined(separator: "; ") + "."
        }
    }

    static func cell(_ value: (mean: Double, ci95: Double)?, _ table: Table) -> String {
        guard let value else { return "–" }
        let digits = table.metric == "IOPS" || table.unit == "%" ? 0 : 1
        return String(format: "%.\(digits)f ± %.\(digits)f", value.mean, value.ci95) + (table.unit.isEmpty || table.unit == "%" ? "" : " \(table.unit)")
    }

    /// Markdown: the answer, the hosts, then one table per metric.
    public func markdown() -> String {
        var out = "# IOThread layouts across hosts\n\n**\(answer)**\n\n"
        out += "| host | sweep | CPU | CPUs | kernel | target model | outcome |\n|---|---:|---|---:|---|---|---|\n"
        for host in hosts {
            let facts = Dictionary(host.model.input.host, uniquingKeysWith: { a, _ in a })
            out += "| \(host.name) | \(host.sweepId) | \(facts["CPU"] ?? "") | \(facts["CPUs"] ?? "") | \(facts["kernel"] ?? "") | \(facts["target model"] ?? "–") | \(host.model.outcome.rawValue) |\n"
        }
        for table in tables {
            out += "\n## \(table.metric)\n\n| host | " + layouts.joined(separator: " | ") + " |\n|---|" + layouts.map { _ in "---:" }.joined(separator: "|") + "|\n"
            for (h, host) in hosts.enumerated() {
                out += "| \(host.name) | " + table.cells[h].map { Self.cell($0, table) }.joined(separator: " | ") + " |\n"
            }
        }
        return out + "\nValues are means ± the 95% interval over each host's runs; each host's outcome is decided by its own runs, as in a single-host report.\n"
    }

    /// Self-contained HTML with the same content.
    public func html() -> String {
        func e(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;") }
        var out = "<!doctype html><html><head><meta charset=\"utf-8\">\(ReportFile.htmlMark)<title>IOThread layouts across hosts</title><style>"
            + "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
            + "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
            + ".differs{background:#fff3cd}</style></head><body><h1>IOThread layouts across hosts</h1>"
        out += "<p class=\"answer\"><strong>\(e(answer.replacingOccurrences(of: "`", with: "")))</strong></p>"
        out += "<table><tr><th>host</th><th>sweep</th><th>CPU</th><th>CPUs</th><th>kernel</th><th>target model</th><th>outcome</th><th>choice</th></tr>"
        for host in hosts {
            let differs = differing.contains { $0.host == host.name }
            let facts = Dictionary(host.model.input.host, uniquingKeysWith: { a, _ in a })
            out += "<tr\(differs ? " class=\"differs\"" : "")><td>\(e(host.name))</td><td>\(host.sweepId)</td>"
                + ["CPU", "CPUs", "kernel", "target model"].map { "<td>\(e(facts[$0] ?? "–"))</td>" }.joined()
                + "<td>\(host.model.outcome.rawValue)</td><td>\(e(host.choice ?? "–"))</td></tr>"
        }
        out += "</table>"
        for table in tables {
            out += "<h2>\(e(table.metric))</h2><table><tr><th>host</th>" + layouts.map { "<th>\(e($0))</th>" }.joined() + "</tr>"
            for (h, host) in hosts.enumerated() {
                out += "<tr><td>\(e(host.name))</td>" + table.cells[h].map { "<td>\(e(Self.cell($0, table)))</td>" }.joined() + "</tr>"
            }
            out += "</table>"
        }
        return out + "</body></html>\n"
    }

    /// The fleet report in `format`.
    public func text(_ format: ReportFormat) throws -> String {
        switch format {
        case .html: return html()
        case .md: return markdown()
        case .json: return try jsonText()
        }
    }

    /// JSON: the answer, whether it holds, the differing hosts, and every table's numbers.
    public func jsonText() throws -> String {
        let document: [String: Any] = [
            "generator": ReportFile.generator, "answer": answer, "choice": choice as Any, "holds_on_every_host": holdsOnEveryHost, "baseline": baseline, "layouts": layouts,
            "differing_hosts": differing.map { ["host": $0.host, "why": $0.why] },
            "hosts": hosts.map { ["host": $0.name, "sweep": $0.sweepId, "outcome": $0.model.outcome.rawValue, "choice": $0.choice as Any] },
            "tables": tables.map { table in
                ["metric": table.metric, "unit": table.unit, "rows": hosts.enumerated().map { h, host in
                    ["host": host.name, "cells": Dictionary(uniqueKeysWithValues: layouts.enumerated().compactMap { l, spec in
                        table.cells[h][l].map { (spec, ["mean": $0.mean, "ci95": $0.ci95]) }
                    })] as [String: Any]
                }] as [String: Any]
            },
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension Summary {
    /// The same summary in another unit.
    func scaled(_ factor: Double) -> Summary {
        var s = self
        s.mean *= factor
        s.standardDeviation *= factor
        s.ci95 *= factor
        return s
    }
}
