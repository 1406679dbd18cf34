import ArgumentParser
import Catalog
import Foundation
import Histogram
import Layout
import Report
import Trace

/// Builds a report's input from runs stored in the catalog.
enum ReportLoader {
    /// The report of `runIds`. Runs that are exactly one sweep's runs are that sweep, and are
    /// checked against its plan; any other choice of runs has no plan to check.
    static func load(runIds: [Int64], catalog: TraceCatalog, title: String, baseline: String?) throws -> ReportInput {
        guard !runIds.isEmpty else { throw ReportError("no runs given") }
        return try load(runIds: runIds, plan: try wholeSweepPlan(runIds, catalog: catalog), catalog: catalog, title: title, baseline: baseline)
    }

    /// The report of sweep `sweepId`: every run row it has, finished or not, against its plan.
    static func load(sweepId: Int64, catalog: TraceCatalog, title: String, baseline: String?) throws -> ReportInput {
        let plan = try self.plan(sweepId: sweepId, catalog: catalog)
        let ids = try catalog.rows("SELECT id FROM run WHERE sweepId = ? ORDER BY id", [sweepId]).compactMap { Int64($0["id"] ?? "") }
        return try load(runIds: ids, plan: plan, catalog: catalog, title: title, baseline: baseline)
    }

    /// The plan of the sweep whose runs are exactly `runIds`, else nil.
    static func wholeSweepPlan(_ runIds: [Int64], catalog: TraceCatalog) throws -> SweepPlan? {
        let sweeps = try Set(runIds.map { id in try catalog.rows("SELECT sweepId FROM run WHERE id = ?", [id]).first?["sweepId"] ?? "NULL" })
        guard sweeps.count == 1, let sweep = sweeps.first.flatMap({ Int64($0) }) else { return nil }
        let all = try catalog.rows("SELECT id FROM run WHERE sweepId = ?", [sweep]).compactMap { Int64($0["id"] ?? "") }
        return Set(all) == Set(runIds) ? try plan(sweepId: sweep, catalog: catalog) : nil
    }

    /// What sweep `sweepId` set out to run, from its `parametersJSON` ("layouts", "repeat", "vms", "qd").
    static func plan(sweepId: Int64, catalog: TraceCatalog) throws -> SweepPlan {
        guard let row = try catalog.rows("SELECT parametersJSON FROM sweep WHERE id = ?", [sweepId]).first else {
            throw ReportError("no sweep \(sweepId) in \(catalog.path)")
        }
        let parameters = (try? JSONSerialization.jsonObject(with: Data((row["parametersJSON"] ?? "{}").utf8))) as? [String: Any] ?? [:]
        func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
        return SweepPlan(sweepId: sweepId, layouts: parameters["layouts"] as? [String], repeats: int(parameters["repeat"]) ?? 1,
                         vmCounts: (parameters["vms"] as? [Any])?.compactMap(int) ?? [1], queueDepth: int(parameters["qd"]))
    }

    static func load(runIds: [Int64], plan: SweepPlan?, catalog: TraceCatalog, title: String, baseline: String?) throws -> ReportInput {
        var runs: [ReportRun] = []
        var unfinished: [UnfinishedRun] = []
        var layouts: [String] = []
        var meta: [String: String] = [:]
        for id in runIds {
            guard let row = try catalog.rows("SELECT * FROM run WHERE id = ?", [id]).first else { throw ReportError("no run \(id) in \(catalog.path)") }
            // Runs of several VM copies are their own configuration, compared within their VM count.
            // (A run that never finished has the default of one VM: its count was never stored.)
            let spec = SweepPlan.label(row["layoutSpec"] ?? "?", vms: Int(row["vms"] ?? "1") ?? 1)
            if meta.isEmpty { meta = row }
            // A run that started and never stored results (an interrupted sweep, a failed run) is
            // missing, not a reason to refuse the report.
            guard let summaryText = row["summaryJSON"], summaryText != "NULL",
                  let summary = try JSONSerialization.jsonObject(with: Data(summaryText.utf8)) as? [String: Any]
            else {
                unfinished.append(UnfinishedRun(id: id, configuration: spec, startedAt: row["startedAt"]))
                continue
            }
            if !layouts.contains(spec) { layouts.append(spec) }
            meta = row
            let seconds = summary["seconds"] as? Double ?? 1
            let read = summary["read"] as? [String: Any] ?? [:]
            let write = summary["write"] as? [String: Any] ?? [:]
            let bytes = ((read["io_bytes"] as? NSNumber)?.doubleValue ?? 0) + ((write["io_bytes"] as? NSNumber)?.doubleValue ?? 0)

            var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
            for blob in try catalog.queueHistograms(runId: id) {
                latency.add(try JSONDecoder().decode(Histogram<UInt64>.self, from: blob))
            }
            var cdf: [(ns: Double, fraction: Double)] = []
            if latency.totalCount > 0 {
                for p in stride(from: 0.5, through: 99.5, by: 0.5) + [99.9, 99.99, 100] {
                    cdf.append((Double(latency.valueAtPercentile(p)), p / 100))
                }
            }
            let iothreads = try catalog.rows("SELECT iothread, cpuPercent FROM runIOThread WHERE runId = ? ORDER BY iothread", [id])
            let timeline = try catalog.rows("SELECT bucket, requests FROM runTimeline WHERE runId = ? ORDER BY bucket", [id])
            runs.append(ReportRun(
                id: id, layoutSpec: spec, iops: summary["iops"] as? Double ?? 0, bytesPerSecond: bytes / seconds,
                p50Ns: Double(latency.valueAtPercentile(50)), p99Ns: Double(latency.valueAtPercentile(99)), p999Ns: Double(latency.valueAtPercentile(99.9)),
                iothreadCPU: iothreads.map { ($0["iothread"] ?? "", Double($0["cpuPercent"] ?? "") ?? 0) },
                timeline: timeline.map { UInt64($0["requests"] ?? "") ?? 0 }, latencyCDF: cdf,
                warning: row["warning"] == "NULL" ? nil : row["warning"]))
        }
        // Without a plan, nothing finished is nothing to report; with one, it is an incomplete sweep.
        if runs.isEmpty && plan == nil {
            throw ReportError(unfinished.isEmpty ? "no runs given" : "no run finished: runs \(unfinished.map { String($0.id) }.joined(separator: ", ")) have no results")
        }

        // The trace and host, from the last finished run's row and the trace file when it is still there.
        let tracePath = meta["tracePath"] ?? ""
        var traceLines: [(String, String)] = [("file", tracePath)]
        var numQueues = 1
        var largeShare = 0.0
        var deviceName = "vda"
        if let reader = try? TraceReader(path: tracePath) {
            let m = reader.metadata
            let device = m.devices[0]
            numQueues = Int(device.numQueues)
            deviceName = device.name
            let summary = try TraceSummary(reader: reader, timelineBuckets: 1)
            let total = Double(max(summary.records, 1))
            largeShare = Double(summary.sizeHistogram[16...].reduce(0, +)) / total
            traceLines += [
                ("source", "\(m.source.kind): \(m.source.name)"),
                // In Swift `>>` binds tighter than `*`, so `sectors * 512 >> 30` was `sectors * 0`:
                // the binary-unit formatter says 512 MiB, 1 GiB or 100 GiB instead.
                ("device", "\(device.name), \(Format.bytes(device.capacitySectors * 512)), \(device.numQueues) vqs"),
                ("requests", "\(summary.records) over \(String(format: "%.2f", Double(summary.durationNs) / 1e9)) s"),
                ("mix", String(format: "read %.1f%%, write %.1f%%, flush %.1f%%", Double(summary.mix[0]) * 100 / total, Double(summary.mix[1]) * 100 / total, Double(summary.mix[2]) * 100 / total)),
                ("sizes", summary.sizeHistogram.enumerated().filter { $0.element > 0 }.map { "\(1 << $0.offset) B \(String(format: "%.0f%%", Double($0.element) * 100 / total))" }.joined(separator: ", ")),
            ]
        }
        let host = (try? JSONDecoder().decode(TraceMetadata.Host.self, from: Data((meta["hostJSON"] ?? "{}").utf8))) ?? TraceMetadata.Host.current()
        var hostLines: [(String, String)] = [("CPU", host.cpuModel), ("CPUs", "\(host.onlineCPUs)"), ("kernel", host.kernel), ("hostname", host.hostname)]
        let target = meta["target"] ?? ""
        hostLines.append(("target", target))
        if target.hasPrefix("/dev/") {
            let name = (target as NSString).lastPathComponent
            if let node = try? String(contentsOfFile: "/sys/class/block/\(name)/device/numa_node", encoding: .utf8) {
                hostLines.append(("target NUMA node", node.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            if let model = try? String(contentsOfFile: "/sys/class/block/\(name)/device/model", encoding: .utf8) {
                hostLines.append(("target model", model.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        }
        let planned = plan?.layouts ?? []
        let chosenBaseline = baseline
            ?? ((layouts.contains("single") || planned.contains("single")) ? "single" : (planned.first ?? layouts.first.map { $0.components(separatedBy: " ×")[0] } ?? "single"))
        let (kind, format) = targetFacts(target)
        return ReportInput(
            title: title, baseline: chosenBaseline, layouts: layouts, runs: runs,
            numQueues: numQueues, deviceName: deviceName, timing: meta["timing"] ?? "", backend: meta["backend"] ?? "", target: target,
            traceSummary: traceLines, host: hostLines, onlineCPUs: host.onlineCPUs, largeRequestShare: largeShare, vms: Int(meta["vms"] ?? "1") ?? 1,
            plan: plan, unfinishedRuns: unfinished, tracePath: tracePath.isEmpty ? nil : tracePath, targetKind: kind, targetFormat: format)
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

    /// Writes the report next to `path` in every format: NAME.html, NAME.md, NAME.json.
    static func write(_ model: ReportModel, htmlPath: String) throws -> [String] {
        let base = (htmlPath as NSString).deletingPathExtension
        let directory = (htmlPath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let json = try Format.json(model.json())
        try model.html().write(toFile: base + ".html", atomically: true, encoding: .utf8)
        try model.markdown().write(toFile: base + ".md", atomically: true, encoding: .utf8)
        try json.write(toFile: base + ".json", atomically: true, encoding: .utf8)
        return [base + ".html", base + ".md", base + ".json"]
    }

    /// `--vm-host-cpus`, shared by `report` and `sweep`: the CPUs of the host the VM will run on
    /// that may take IOThreads, for concrete `<iothreadpin>` lines.
    struct VMHostOption: ParsableArguments {
        @Option(name: .customLong("vm-host-cpus"), help: ArgumentHelp(
            "CPUs of the host the VM will run on that its IOThreads may have (e.g. 8-11), on the disk's NUMA node and away from the vCPUs; fills in the recommended <iothreadpin> lines. Without it the cpusets are placeholders.",
            valueName: "LIST"))
        var list: String?

        func validate() throws { _ = try cpus() }

        func cpus() throws -> CPUSet? {
            guard let list else { return nil }
            do { return try CPUSet(parsing: list) } catch { throw ValidationError("--vm-host-cpus: \(error)") }
        }
    }
}
