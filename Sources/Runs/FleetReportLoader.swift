import Catalog
import Foundation
import Report

/// Builds a fleet report (`FleetReport`) from the catalog: each host's sweep loaded as its own
/// report would be (`ReportLoader`), then side by side.
public enum FleetReportLoader {
    /// The sweeps `sweepIds`, one a host; they must have replayed the same trace.
    public static func load(sweepIds: [Int64], catalog: any CatalogStore, baseline: String?) throws -> FleetReport {
        let sweeps = try sweepIds.map { id in
            guard let sweep = try catalog.sweep(id: id) else { throw ReportError.usage("no sweep \(id) in \(catalog.location) (`vqtrace report --list` lists the sweeps)") }
            return sweep
        }
        let traces = Set(sweeps.compactMap(\.traceFingerprint))
        guard traces.count <= 1 else {
            throw ReportError("sweeps \(sweepIds.map(String.init).joined(separator: ", ")) replayed different traces; a fleet report compares one trace across hosts")
        }
        var seen = Set<String>()
        for sweep in sweeps where !seen.insert(sweep.host).inserted {
            throw ReportError("two of the sweeps are host \(sweep.host)'s; give one sweep per host")
        }
        return try FleetReport(hosts: sweeps.map { sweep in
            let input = try ReportLoader.load(sweepId: sweep.id, catalog: catalog, title: "\(sweep.host)", baseline: baseline)
            return FleetReport.Host(name: sweep.host.isEmpty ? "sweep \(sweep.id)" : sweep.host, sweepId: sweep.id, model: try ReportModel(input))
        })
    }

    /// The newest sweep of each of `hosts` of one trace: the trace of the newest of those
    /// hosts' sweeps. Throws naming a host that has no sweep of it.
    public static func load(hosts: [String], catalog: any CatalogStore, baseline: String?) throws -> FleetReport {
        let byHost = try hosts.map { host in (host, try catalog.sweeps(host: host)) }
        for (host, sweeps) in byHost where sweeps.isEmpty { throw ReportError.usage("host \(host) has no sweep in \(catalog.location)") }
        guard let newest = byHost.compactMap({ $0.1.first }).max(by: { $0.id < $1.id }) else { throw ReportError("no hosts given") }
        let ids = try byHost.map { host, sweeps in
            guard let sweep = sweeps.first(where: { $0.traceFingerprint == newest.traceFingerprint }) else {
                throw ReportError("host \(host) has no sweep of the trace of sweep \(newest.id) (host \(newest.host)); name the sweeps with --sweep ID,ID…")
            }
            return sweep.id
        }
        return try load(sweepIds: ids, catalog: catalog, baseline: baseline)
    }
}
