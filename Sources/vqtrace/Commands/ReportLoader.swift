import Catalog
import Foundation
import Histogram
import Report
import Trace

/// Builds a report's input from runs stored in the catalog.
enum ReportLoader {
    static func load(runIds: [Int64], catalog: TraceCatalog, title: String, baseline: String?) throws -> ReportInput {
        guard !runIds.isEmpty else { throw ReportError("no runs given") }
        var runs: [ReportRun] = []
        var layouts: [String] = []
        var meta: [String: String] = [:]
        for id in runIds {
            guard let row = try catalog.rows("SELECT * FROM run WHERE id = ?", [id]).first else { throw ReportError("no run \(id) in \(catalog.path)") }
            guard let summaryText = row["summaryJSON"], summaryText != "NULL",
                  let summary = try JSONSerialization.jsonObject(with: Data(summaryText.utf8)) as? [String: Any]
            else { throw ReportError("run \(id) did not finish (no results stored)") }
            // Runs of several VM copies are their own configuration, compared within their VM count.
            let vmCount = Int(row["vms"] ?? "1") ?? 1
            let spec = (row["layoutSpec"] ?? "?") + (vmCount > 1 ? " ×\(vmCount) VMs" : "")
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

        // The trace and host, from the last run's row and the trace file when it is still there.
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
        hostLines.append(("target", meta["target"] ?? ""))
        if let target = meta["target"], target.hasPrefix("/dev/") {
            let name = (target as NSString).lastPathComponent
            if let node = try? String(contentsOfFile: "/sys/class/block/\(name)/device/numa_node", encoding: .utf8) {
                hostLines.append(("target NUMA node", node.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            if let model = try? String(contentsOfFile: "/sys/class/block/\(name)/device/model", encoding: .utf8) {
                hostLines.append(("target model", model.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        }
        return ReportInput(
            title: title, baseline: baseline ?? (layouts.contains("single") ? "single" : layouts[0].components(separatedBy: " ×")[0]), layouts: layouts, runs: runs,
            numQueues: numQueues, deviceName: deviceName, timing: meta["timing"] ?? "", backend: meta["backend"] ?? "", target: meta["target"] ?? "",
            traceSummary: traceLines, host: hostLines, onlineCPUs: host.onlineCPUs, largeRequestShare: largeShare, vms: Int(meta["vms"] ?? "1") ?? 1)
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
}
