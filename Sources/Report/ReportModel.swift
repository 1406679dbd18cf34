import Foundation
import Layout

/// One layout's runs, summarized and compared with the baseline.
public struct LayoutResult: Sendable {
    public var spec: String
    public var runs: [ReportRun]
    public var iops: Summary
    public var bytesPerSecond: Summary
    public var p50: Summary
    public var p99: Summary
    public var p999: Summary
    /// Sum of the IOThreads' CPU % per run.
    public var iothreadCPU: Summary
    /// Mean IOPS change against the baseline, as a fraction (+0.2286 = +22.86%); nil for the baseline.
    public var change: Double?
    /// Whether the IOPS difference from the baseline is larger than the noise (Welch, 95%).
    public var significant: Bool
}

/// The layout to use, in the forms a user pastes.
public struct Recommendation: Sendable {
    public var spec: String
    public var reason: String
    public var qemu: String
    public var libvirt: String
    public var pinning: String
}

/// A comparison report's content, independent of its format: statistics per layout, the
/// answer, the recommendation and its caveats.
public struct ReportModel: Sendable {
    public let input: ReportInput
    public let results: [LayoutResult]
    public let answer: String
    public let recommendation: Recommendation
    public let caveats: [String]
    public let warnings: [String]

    public init(_ input: ReportInput) throws {
        self.input = input
        var results: [LayoutResult] = []
        for spec in input.layouts {
            let runs = input.runs.filter { $0.layoutSpec == spec }
            guard !runs.isEmpty else { continue }
            results.append(LayoutResult(
                spec: spec, runs: runs, iops: Summary(runs.map(\.iops)), bytesPerSecond: Summary(runs.map(\.bytesPerSecond)),
                p50: Summary(runs.map(\.p50Ns)), p99: Summary(runs.map(\.p99Ns)), p999: Summary(runs.map(\.p999Ns)),
                iothreadCPU: Summary(runs.map { $0.iothreadCPU.reduce(0) { $0 + $1.percent } }), change: nil, significant: false))
        }
        guard !results.isEmpty else { throw ReportError("no runs to report") }
        // Each configuration is compared with the baseline layout at the same VM count.
        for i in results.indices {
            let group = Self.group(of: results[i].spec)
            guard let b = results.firstIndex(where: { $0.spec == input.baseline + group }), b != i else { continue }
            results[i].change = results[b].iops.mean > 0 ? results[i].iops.mean / results[b].iops.mean - 1 : nil
            results[i].significant = results[i].iops.differs(from: results[b].iops)
        }
        self.results = results
        // The answer and the recommendation are about the first VM count given (usually one VM).
        let firstGroup = Self.group(of: results[0].spec)
        let base = results.first { $0.spec == input.baseline + firstGroup } ?? results[0]

        let best = results.filter { Self.group(of: $0.spec) == firstGroup }.max { $0.iops.mean < $1.iops.mean }!
        let repeats = results.map(\.runs.count).min() ?? 1
        let winner: LayoutResult
        if best.spec == base.spec {
            answer = "Keep `\(base.spec)`: no other layout beat it (\(Self.number(base.iops.mean)) IOPS\(repeats > 1 ? ", ±\(Self.number(base.iops.ci95)) at 95%" : ""))."
            winner = base
        } else if best.significant {
            answer = "`\(best.spec)` wins: \(Self.percent(best.change!)) IOPS over `\(base.spec)` (\(Self.number(best.iops.mean)) against \(Self.number(base.iops.mean)), \(repeats) runs each), a difference larger than the noise."
            winner = best
        } else if repeats < 2 {
            answer = "`\(best.spec)` measured \(Self.percent(best.change ?? 0)) IOPS over `\(base.spec)` in one run each; repeat the sweep (--repeat 3) to tell a win from noise. Until then, keep `\(base.spec)`."
            winner = base
        } else {
            answer = "No layout beat `\(base.spec)` beyond the noise: the best, `\(best.spec)`, measured \(Self.percent(best.change ?? 0)) IOPS, inside the 95% interval of \(repeats) runs each. Keep `\(base.spec)`."
            winner = base
        }
        recommendation = try Self.recommend(winner, base: base, input: input)

        var caveats = ["The recommended disk driver uses cache='none' and io='native' (O_DIRECT, no host page cache), as these measurements did."]
        if input.backend == "null" { caveats.append("These runs used the null backend: they measure vqtrace's engine, not the disk. Replay onto the real target before deciding.") }
        do {
            caveats.append("Dense hosts gain less: with 8 VMs sharing a host, separate IOThreads per vq changed throughput by only −1.16% to +3.08% in the measurements this tool was built from. Replay with --vms to see your own host's share.")
        }
        if input.largeRequestShare > 0.3 {
            caveats.append("\(Int(input.largeRequestShare * 100))% of this trace's requests are 64 KiB or larger: large blocks gain less from more IOThreads, since the disk, not the IOThread, is the limit.")
        }
        if input.onlineCPUs <= 2 {
            caveats.append("This host has \(input.onlineCPUs) CPUs: IOThreads, vCPU drivers and the replayer share them, so layouts with more IOThreads than CPUs cannot show their gain here.")
        }
        self.caveats = caveats
        warnings = input.runs.compactMap { run in run.warning.map { "run \(run.id) (\(run.layoutSpec)): \($0)" } }
    }

    /// The VM-count suffix of a configuration's label (" ×8 VMs"), empty for one VM.
    static func group(of spec: String) -> String {
        spec.range(of: " ×").map { String(spec[$0.lowerBound...]) } ?? ""
    }

    static func recommend(_ winner: LayoutResult, base: LayoutResult, input: ReportInput) throws -> Recommendation {
        var layout: IOThreadLayout
        let spec = winner.spec.components(separatedBy: " ×")[0]
        do { layout = try LayoutSpec.parse(spec, numQueues: input.numQueues) } catch { throw ReportError("layout \(spec): \(error)") }
        // Pin IOThreads to the last CPUs, away from the vCPUs (which a VM usually starts at CPU 0).
        let cpus = input.onlineCPUs
        var pinning = "QEMU cannot pin IOThreads itself: use libvirt's <iothreadpin> (below) or taskset on the IOThread's thread id."
        if cpus > layout.iothreads.count {
            for i in layout.iothreads.indices {
                layout.iothreads[i].cpus = CPUSet([cpus - layout.iothreads.count + i])
            }
            let first = cpus - layout.iothreads.count
            pinning += " Each IOThread gets its own host CPU from the top (\(first == cpus - 1 ? "CPU \(first)" : "CPUs \(first)-\(cpus - 1)") here); keep the vCPUs off them."
        } else {
            pinning += " This host has \(cpus) CPUs for \(layout.iothreads.count) IOThreads: they are left unpinned."
        }
        layout.devices = layout.devices.map { DeviceLayout(name: input.deviceName, iothreads: $0.iothreads, assignment: $0.assignment) }
        let reason = winner.spec == base.spec ? "the baseline: nothing beat it beyond the noise" : "the measured winner"
        return Recommendation(spec: spec, reason: reason, qemu: QEMULayoutFormat.emit(layout), libvirt: LibvirtLayoutFormat.emit(layout), pinning: pinning)
    }

    static func number(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }

    /// The seed's style: +22.86%.
    public static func percent(_ fraction: Double) -> String {
        String(format: "%+.2f%%", fraction * 100)
    }

    /// Every number, for programs.
    public func json() -> [String: Any] {
        func summary(_ s: Summary) -> [String: Any] { ["mean": s.mean, "ci95": s.ci95, "sd": s.standardDeviation, "n": s.n] }
        return [
            "title": input.title, "answer": answer, "baseline": input.baseline, "timing": input.timing, "backend": input.backend,
            "target": input.target,
            "layouts": results.map { r -> [String: Any] in
                var o: [String: Any] = [
                    "layout": r.spec, "runs": r.runs.map(\.id), "iops": summary(r.iops), "bytes_per_second": summary(r.bytesPerSecond),
                    "latency_p50_ns": summary(r.p50), "latency_p99_ns": summary(r.p99), "latency_p99_9_ns": summary(r.p999),
                    "iothread_cpu_percent": summary(r.iothreadCPU), "significant": r.significant,
                    "iops_per_run": r.runs.map(\.iops),
                ]
                if let change = r.change { o["iops_change"] = change }
                return o
            },
            "recommendation": ["layout": recommendation.spec, "reason": recommendation.reason, "qemu": recommendation.qemu,
                               "libvirt": recommendation.libvirt, "pinning": recommendation.pinning],
            "caveats": caveats, "warnings": warnings,
            "trace": Dictionary(uniqueKeysWithValues: input.traceSummary.map { ($0.0, $0.1) }),
            "host": Dictionary(uniqueKeysWithValues: input.host.map { ($0.0, $0.1) }),
        ]
    }
}

/// A report that cannot be built, and why.
public struct ReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
