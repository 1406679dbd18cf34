import Trace

/// A number of requests of the HammerDB-like OLTP model (`OLTPPreset.oltp`: 8 vCPUs, 50 users),
/// optionally on a rescaled clock: what `traces synth`, the demo's first trace and the
/// benchmarks use when they need "N requests shaped like a database" rather than "a database
/// for N seconds".
///
/// With `iops`, the model's timestamps (submit and completion) are multiplied by one factor so
/// that the mean rate is `iops`: the requests, their order and the shape of the gaps are the
/// model's, only its clock is faster or slower. The factor comes from the model's own rate over
/// its first requests (the same seed gives the same factor, so the same bytes).
public struct OLTPSample: Sendable {
    public var requests: Int
    public var seed: UInt64
    public var iops: Double?
    public var capacityBytes: UInt64
    /// Keep completion times (a recording has them; an imported trace often has not).
    public var completions: Bool

    public init(requests: Int, seed: UInt64 = 1, iops: Double? = nil, capacityBytes: UInt64 = 100 << 30, completions: Bool = true) {
        self.requests = requests
        self.seed = seed
        self.iops = iops
        self.capacityBytes = capacityBytes
        self.completions = completions
    }

    /// The model's parameters behind the sample.
    public var parameters: OLTPParameters {
        var p = OLTPPreset.oltp.parameters
        p.capacityBytes = capacityBytes
        p.seed = seed
        // Long enough for any number of requests; the sample stops at `requests`.
        p.durationSeconds = WorkloadError.longestSeconds
        return p
    }

    /// The trace's metadata: the model's device, the sample's name and parameters.
    public var metadata: TraceMetadata {
        var m = OLTPGenerator.metadata(parameters)
        var source = m.source.parameters
        source["duration_s"] = nil  // the sample ends at `requests`, not at the model's (unbounded) duration
        source["requests"] = "\(requests)"
        if let iops { source["iops"] = "\(iops)" }
        m.source = .init(kind: "synthetic", name: "oltp-sample", parameters: source)
        return m
    }

    /// Checks the numbers (a user's `--requests`, `--iops`, `--capacity`).
    public func validate() throws(WorkloadError) {
        guard requests >= 1 && requests <= 10_000_000_000 else { throw WorkloadError("--requests must be 1...10000000000; \(requests) is not") }
        if let iops { try WorkloadError.check(iops, "--iops", in: 1...1e9) }
        try parameters.validate()
    }

    /// The requests, in submit-time order, into `emit`.
    public func run(_ emit: (TraceRecord) throws -> Void) throws {
        try validate()
        let scale = try clockScale()
        var count = 0
        try Self.model(parameters) { record in
            var r = record
            if !completions { r.completionNs = nil }
            if scale != 1 {
                r.submitNs = UInt64(Double(r.submitNs) * scale)
                r.completionNs = r.completionNs.map { max(UInt64(Double($0) * scale), r.submitNs) }
            }
            try emit(r)
            count += 1
            return count < requests
        }
    }

    /// The factor that brings the model's mean rate to `iops` (1 without).
    func clockScale() throws -> Double {
        guard let iops else { return 1 }
        let pilot = min(requests, 50_000)
        var first: UInt64?
        var last: UInt64 = 0
        var seen = 0
        try Self.model(parameters) { record in
            if first == nil { first = record.submitNs }
            last = record.submitNs
            seen += 1
            return seen < pilot
        }
        guard let first, last > first, seen > 1 else { return 1 }
        let natural = Double(seen - 1) / (Double(last - first) / 1e9)
        return natural / iops
    }

    /// Runs the model until `next` returns false.
    static func model(_ parameters: OLTPParameters, _ next: (TraceRecord) throws -> Bool) throws {
        var generator = try OLTPGenerator(parameters)
        do {
            try generator.run { record in
                if try !next(record) { throw Enough() }
            }
        } catch is Enough {}
    }

    private struct Enough: Error {}
}

extension OLTPSample {
    /// Writes the sample as a new trace at `path`; `progress` hears the requests written (every
    /// 65,536), `shouldStop` can end it early with an error (the writer then leaves no file).
    public func write(to path: String, options: TraceWriterOptions = .init(), progress: ((Int) -> Void)? = nil,
                      shouldStop: (() -> Bool)? = nil) throws -> TraceTotals {
        let writer = try TraceWriter(path: path, metadata: metadata, options: options)
        var written = 0
        try run { record in
            try writer.append(record)
            written += 1
            if written & 0xFFFF == 0 {
                progress?(written)
                if shouldStop?() == true { throw WorkloadError("interrupted") }
            }
        }
        return try writer.finish()
    }
}
