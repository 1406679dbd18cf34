import Foundation

extension ReportModel {
    /// Every number, for programs, and the same facts as the HTML and Markdown: the answer and
    /// its outcome, what is missing, what to run next, the warnings, and the recommendation
    /// only when there is one.
    public func json() -> [String: Any] {
        func fidelity(_ f: RunFidelity) -> [String: Any] {
            ["iops_error": f.iopsError, "reordered_share": f.reorderedShare, "latency_p50_ratio": f.latencyP50Ratio ?? NSNull(), "answer": f.answer]
        }
        func summary(_ s: Summary) -> [String: Any] { ["mean": s.mean, "ci95": s.ci95, "sd": s.standardDeviation, "n": s.n] }
        var object: [String: Any] = [
            "generator": ReportFile.generator, "title": input.title, "answer": answer, "outcome": outcome.rawValue, "criterion": input.criterion.rawValue, "decision_rule": decisionRule, "baseline": input.baseline, "timing": input.timing,
            "backend": input.backend, "target": input.target, "equivalence_margin": ReportModel.equivalenceMargin,
            "layouts": results.map { r -> [String: Any] in
                var o: [String: Any] = [
                    "layout": r.spec, "layout_spec": SweepPlan.layout(ofLabel: r.spec),
                    "back_end": SweepPlan.backEnd(ofLabel: r.spec) ?? SweepPlan.engineBackEnd, "runs": r.runs.map(\.id), "iops": summary(r.iops), "bytes_per_second": summary(r.bytesPerSecond),
                    "latency_p50_ns": summary(r.p50), "latency_p99_ns": summary(r.p99), "latency_p99_9_ns": summary(r.p999),
                    "iothread_cpu_percent": summary(r.iothreadCPU), "significant": r.significant,
                    "iops_per_run": r.runs.map(\.iops),
                    "lateness_p99_ns_per_run": r.runs.map { $0.latenessP99Ns.map { $0 as Any } ?? NSNull() },
                ]
                if r.runs.contains(where: { $0.fidelity != nil }) {
                    o["fidelity_per_run"] = r.runs.map { run -> Any in run.fidelity.map(fidelity) ?? NSNull() }
                }
                if let change = r.change { o["iops_change"] = change }
                return o
            },
            "missing_runs": verdict.missing.map { ["layout": $0.configuration, "finished": $0.finished, "planned": $0.planned] },
            "unfinished_runs": input.unfinishedRuns.map { ["run": $0.id, "layout": $0.configuration] },
            "schedule_missed_runs": input.runs.filter(\.scheduleMissed).map(\.id),
            // Every finished run, the ones left out of the verdict (schedule not kept) included.
            "runs": input.runs.map { run -> [String: Any] in
                var o: [String: Any] = ["run": run.id, "layout": run.layoutSpec, "iops": run.iops, "latency_p99_ns": run.p99Ns,
                                        "schedule_missed": run.scheduleMissed, "lateness_p99_ns": run.latenessP99Ns.map { $0 as Any } ?? NSNull()]
                if let f = run.fidelity { o["fidelity"] = fidelity(f) }
                return o
            },
            "host_limited_layouts": verdict.hostLimited.map { ["layout": $0.layout, "iothreads": $0.iothreads] },
            "caveats": caveats, "warnings": warnings,
            "trace": Dictionary(uniqueKeysWithValues: input.traceSummary.map { ($0.0, $0.1) }),
            "host": Dictionary(uniqueKeysWithValues: input.host.map { ($0.0, $0.1) }),
        ]
        object["plan"] = input.plan.map { plan -> Any in
            var p: [String: Any] = ["repeat": plan.repeats, "vms": plan.vmCounts]
            if let id = plan.sweepId { p["sweep"] = id }
            if let layouts = plan.layouts { p["layouts"] = layouts }
            if let backEnds = plan.backEnds { p["back_ends"] = backEnds }
            if let command = plan.commandLine { p["command_line"] = command }
            return p
        } ?? NSNull()
        if let winner = verdict.winner { object["winner"] = winner }
        switch verdict.repeatsSuggested {
        case .runs(let n)?: object["repeats_suggested"] = n
        case .moreThan(let cap)?: object["repeats_suggested_more_than"] = cap
        case nil: break
        }
        if let command = verdict.nextCommand { object["next_command"] = command }
        if let r = recommendation {
            let disk: [String: Any] = ["kind": r.disk.kind.rawValue, "path": r.disk.path, "format": r.disk.format.rawValue, "aio": r.disk.aio.rawValue,
                                       "cache_direct": r.disk.cacheDirect, "note": r.diskNote]
            object["recommendation"] = ["layout": r.spec, "reason": r.reason, "qemu": r.qemu, "libvirt": r.libvirt, "pinning": r.pinning, "disk": disk]
        }
        return object
    }
}
