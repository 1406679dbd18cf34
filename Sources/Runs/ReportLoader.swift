import Units
import Catalog
import Foundation
import Histogram
import Layout
import Report
import Trace
import VhostUser

/// Builds a report's input from runs stored in the catalog: every run's summary, latency
/// histograms, IOThread CPU and timeline; the trace (every device) and the host that measured;
/// the sweep's plan, so that an interrupted sweep is reported as incomplete.
public enum ReportLoader {
    /// The report of `runIds`. Runs that are exactly one sweep's runs are that sweep, and are
    /// checked against its plan; any other choice of runs has no plan to check.
    public static func load(runIds: [Int64], catalog: any CatalogStore, title: String, baseline: String?) throws -> ReportInput {
        guard !runIds.isEmpty else { throw ReportError.usage("no runs given") }
        let missing = try runIds.filter { try catalog.run(id: $0) == nil }
        if !missing.isEmpty {
            throw ReportError.usage("no run \(missing.map(String.init).joined(separator: ", ")) in \(catalog.location) (`vqtrace report --list` lists the sweeps)")
        }
        let runs = try catalog.runs(ids: runIds)
        return try load(runs, plan: try wholeSweepPlan(runs, catalog: catalog), catalog: catalog, title: title, baseline: baseline)
    }

    /// The report of sweep `sweepId`: every run row it has, finished or not, against its plan.
    public static func load(sweepId: Int64, catalog: any CatalogStore, title: String, baseline: String?) throws -> ReportInput {
        let plan = try self.plan(sweepId: sweepId, catalog: catalog)
        return try load(try catalog.runs(sweepId: sweepId), plan: plan, catalog: catalog, title: title, baseline: baseline)
    }

    /// The plan of the sweep whose runs are exactly `runs`, else nil.
    static func wholeSweepPlan(_ runs: [CatalogRun], catalog: any CatalogStore) throws -> SweepPlan? {
        let sweeps = Set(runs.map(\.sweepId))
        guard sweeps.count == 1, let sweep = sweeps.first ?? nil else { return nil }
        let all = try catalog.runs(sweepId: sweep).map(\.id)
        return Set(all) == Set(runs.map(\.id)) ? try plan(sweepId: sweep, catalog: catalog) : nil
    }

    /// What sweep `sweepId` set out to run (`SweepParameters`, its row's `parametersJSON`).
    public static func plan(sweepId: Int64, catalog: any CatalogStore) throws -> SweepPlan {
        guard let sweep = try catalog.sweep(id: sweepId) else {
            throw ReportError.usage("no sweep \(sweepId) in \(catalog.location) (`vqtrace report --list` lists the sweeps)")
        }
        let parameters = (try? SweepParameters.decode(sweep.parametersJSON)) ?? SweepParameters(layouts: nil, repeats: 1)
        return SweepPlan(sweepId: sweepId, layouts: parameters.layouts, repeats: parameters.repeats,
                         vmCounts: parameters.vms ?? [1], queueDepth: parameters.queueDepth, commandLine: parameters.commandLine,
                         backEnds: parameters.backEnds)
    }

    static func load(_ rows: [CatalogRun], plan: SweepPlan?, catalog: any CatalogStore, title: String, baseline: String?) throws -> ReportInput {
        var runs: [ReportRun] = []
        var unfinished: [UnfinishedRun] = []
        var layouts: [String] = []
        var last: CatalogRun?
        var warnings: [String] = []
        for row in rows {
            // Runs of several VM copies are their own configuration, compared within their VM count.
            // (A run that never finished has the default of one VM: its count was never stored.)
            let spec = SweepPlan.label(row.layoutSpec, vms: row.vms, backEnd: VhostUserBackEndChoice.label(ofStored: row.backend))
            // A run that started and never stored results (an interrupted sweep, a failed run) is
            // missing, not a reason to refuse the report.
            guard let summaryJSON = row.summaryJSON else {
                unfinished.append(UnfinishedRun(id: row.id, configuration: spec, startedAt: row.startedAt))
                continue
            }
            let summary: RunSummary
            do { summary = try RunSummary.decode(summaryJSON) } catch {
                throw ReportError("run \(row.id): its stored summary does not read back (\(error))")
            }
            if !layouts.contains(spec) { layouts.append(spec) }
            last = row
            var latency = latencyHistogram()
            for queue in try catalog.queues(ofRun: row.id) where !queue.latencyHistogram.isEmpty {
                latency.add(try JSONDecoder().decode(Histogram<UInt64>.self, from: queue.latencyHistogram))
            }
            var cdf: [(ns: Double, fraction: Double)] = []
            if latency.totalCount > 0 {
                for p in stride(from: 0.5, through: 99.5, by: 0.5) + [99.9, 99.99, 100] {
                    cdf.append((Double(latency.valueAtPercentile(p)), p / 100))
                }
            }
            runs.append(ReportRun(
                id: row.id, layoutSpec: spec, iops: summary.iops, bytesPerSecond: summary.bytesPerSecond,
                p50Ns: Double(latency.valueAtPercentile(50)), p99Ns: Double(latency.valueAtPercentile(99)), p999Ns: Double(latency.valueAtPercentile(99.9)),
                iothreadCPU: try catalog.iothreads(ofRun: row.id).map { ($0.name, $0.cpuPercent) },
                timeline: try catalog.timeline(ofRun: row.id), latencyCDF: cdf, warning: row.warning))
            runs[runs.count - 1].latenessP99Ns = summary.lateness.map { Double($0.p99) }
            // Older runs kept only the warning's words.
            runs[runs.count - 1].scheduleMissed = summary.scheduleMissed ?? (row.warning?.contains("could not keep the schedule") ?? false)
            runs[runs.count - 1].fidelity = summary.fidelity.map {
                RunFidelity(iopsError: $0.iopsError, reorderedShare: $0.reorderedShare, latencyP50Ratio: $0.latencyP50Ratio, answer: $0.answer)
            }
        }
        // Without a plan, nothing finished is nothing to report; with one, it is an incomplete sweep.
        if runs.isEmpty && plan == nil {
            throw ReportError(unfinished.isEmpty ? "no runs given" : "no run finished: runs \(unfinished.map { String($0.id) }.joined(separator: ", ")) have no results")
        }
        let meta = last ?? rows.first

        // The trace, when its file is still there and is still the file the runs replayed; a
        // trace this host reads from the catalog is described by its catalog row.
        let tracePath = meta?.tracePath ?? ""
        var traceLines: [(String, String)] = [("file", tracePath)]
        var devices: [ReportDevice] = []
        var largeShare = 0.0
        if let reader = try? TraceReader(path: tracePath) {
            let replayed = Set(rows.compactMap(\.traceFingerprint))
            if !replayed.isEmpty && replayed != [reader.fingerprint] {
                warnings.append("\(tracePath) is no longer the file these runs replayed (it was replaced since): the trace lines below describe the new file")
            }
            let m = reader.metadata
            devices = m.devices.map { ReportDevice(name: $0.name, numQueues: Int($0.numQueues), capacityBytes: $0.capacitySectors * 512) }
            let summary = try TraceSummary(reader: reader, timelineBuckets: 1)
            let total = Double(max(summary.records, 1))
            largeShare = Double(summary.sizeHistogram[16...].reduce(0, +)) / total
            traceLines.append(("source", "\(m.source.kind): \(m.source.name)"))
            for device in m.devices {
                traceLines.append(("device", "\(device.name), \(TextFormat.bytes(device.capacitySectors * 512)), \(device.numQueues) vqs"))
            }
            traceLines += [
                ("requests", "\(summary.records) over \(String(format: "%.2f", Double(summary.durationNs) / 1e9)) s"),
                ("mix", String(format: "read %.1f%%, write %.1f%%, flush %.1f%%", Double(summary.mix[0]) * 100 / total, Double(summary.mix[1]) * 100 / total, Double(summary.mix[2]) * 100 / total)),
                ("sizes", summary.sizeHistogram.enumerated().filter { $0.element > 0 }.map { "\(1 << $0.offset) B \(String(format: "%.0f%%", Double($0.element) * 100 / total))" }.joined(separator: ", ")),
            ]
        } else if let traceId = meta?.traceId, let trace = try? catalog.find("\(traceId)"),
                  let stored = try? catalog.rows("SELECT name, capacitySectors, numQueues FROM traceDevice WHERE traceId = ? ORDER BY device", [traceId]) {
            devices = stored.map { ReportDevice(name: $0["name"] ?? "vda", numQueues: Int($0["numQueues"] ?? "") ?? 1,
                                                capacityBytes: (UInt64($0["capacitySectors"] ?? "") ?? 0) * 512) }
            let total = Double(max(trace.records, 1))
            traceLines.append(("source", "\(trace.sourceKind): \(trace.sourceName)"))
            for device in devices { traceLines.append(("device", "\(device.name), \(TextFormat.bytes(device.capacityBytes ?? 0)), \(device.numQueues) vqs")) }
            traceLines += [
                ("requests", "\(trace.records) over \(String(format: "%.2f", Double(trace.lastSubmitNs - trace.firstSubmitNs) / 1e9)) s"),
                ("mix", String(format: "read %.1f%%, write %.1f%%, flush %.1f%%", Double(trace.mix[0]) * 100 / total, Double(trace.mix[1]) * 100 / total, Double(trace.mix[2]) * 100 / total)),
            ]
        } else if let layout = meta.flatMap({ try? JSONDecoder().decode(LayoutDocument.self, from: Data($0.layoutJSON.utf8)) }) {
            // The file is gone: the devices as the last run laid them out.
            devices = layout.devices.map { ReportDevice(name: $0.name, numQueues: $0.assignment.count) }
        }
        let host = (try? JSONDecoder().decode(TraceMetadata.Host.self, from: Data((meta?.hostJSON ?? "{}").utf8))) ?? TraceMetadata.Host.current()
        var hostLines: [(String, String)] = [("CPU", host.cpuModel), ("CPUs", "\(host.onlineCPUs)"), ("kernel", host.kernel), ("hostname", host.hostname)]
        let target = meta?.target ?? ""
        hostLines.append(("target", target))
        if let model = meta?.targetModel, model != "unknown", model != "null" { hostLines.append(("target model", model)) }
        if let summary = last?.summaryJSON.flatMap({ try? RunSummary.decode($0) }), let preparation = summary.targetPreparation {
            hostLines.append(("target preparation", preparation.summary))
        }
        if target.hasPrefix("/dev/") {
            let name = (target as NSString).lastPathComponent
            if let node = try? String(contentsOfFile: "/sys/class/block/\(name)/device/numa_node", encoding: .utf8) {
                hostLines.append(("target NUMA node", node.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            if meta?.targetModel == nil, let model = try? String(contentsOfFile: "/sys/class/block/\(name)/device/model", encoding: .utf8) {
                hostLines.append(("target model", model.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        }
        let planned = plan?.layouts ?? []
        let chosenBaseline = baseline
            ?? ((layouts.contains("single") || planned.contains("single")) ? "single" : (planned.first ?? layouts.first.map { $0.components(separatedBy: " ×")[0] } ?? "single"))
        let (kind, format) = targetFacts(target)
        // What a suggested `vqtrace sweep` names: the file, or for a trace read from the catalog, its id.
        let commandTrace = tracePath.isEmpty ? nil
            : (!FileManager.default.fileExists(atPath: tracePath) ? meta?.traceId.map { "\($0)" } : nil) ?? tracePath
        // What the engine's runs submitted with (a vhost-user back-end's runs name their own).
        let engineBackend = rows.last { VhostUserBackEndChoice.label(ofStored: $0.backend) == nil }?.backend
        var input = ReportInput(
            title: title, baseline: chosenBaseline, layouts: layouts, runs: runs,
            numQueues: devices.first?.numQueues ?? 1, deviceName: devices.first?.name ?? "vda", devices: devices,
            timing: meta?.timing ?? "", backend: engineBackend ?? meta?.backend ?? "", target: target,
            traceSummary: traceLines, host: hostLines, onlineCPUs: host.onlineCPUs, largeRequestShare: largeShare, vms: meta?.vms ?? 1,
            plan: plan, unfinishedRuns: unfinished, tracePath: commandTrace, targetKind: kind, targetFormat: format)
        input.notes = warnings
        input.catalogArgument = catalogArgument(catalog)
        return input
    }

    /// `--catalog` as a suggested command must name it: nothing for the default (what the
    /// command finds without the option), else the store's location, which never holds a password.
    static func catalogArgument(_ catalog: any CatalogStore) -> String? {
        let location = catalog.location
        let standard = (try? CatalogLocation(parsing: CatalogLocation.defaultValue))?.description
        return location == standard ? nil : location
    }

    /// Whether the target is a block device, and whether it holds a qcow2 image, looked at when it
    /// is still there (a scratch file may be gone: then a /dev path is taken for a device, and raw).
    static func targetFacts(_ target: String) -> (DiskBacking.Kind, DiskBacking.ImageFormat) {
        var kind: DiskBacking.Kind = target.hasPrefix("/dev/") ? .blockDevice : .file
        if let type = (try? FileManager.default.attributesOfItem(atPath: target))?[.type] as? FileAttributeType {
            kind = type == .typeBlockSpecial ? .blockDevice : .file
        }
        guard let handle = FileHandle(forReadingAtPath: target) else { return (kind, .raw) }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: DiskBacking.ImageFormat.qcow2Magic.count)) ?? Data()
        return (kind, .detect(header: header))
    }
}
