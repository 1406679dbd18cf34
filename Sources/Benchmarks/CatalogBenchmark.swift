import Catalog
import Foundation
import Histogram
import Trace
import Units
import Workload

/// Measures the catalog stores: how many finished runs a second each stores (a run as a sweep
/// stores it: 8 vqs with their latency histograms, 3 IOThreads, a 60 s timeline of 600 buckets,
/// in one transaction), and how long a replay of a 1-second window of a large pushed trace takes
/// to get its records from the catalog, against the same window of the local file.
public struct CatalogBenchmark: Sendable {
    /// Where the temporary SQLite catalog and trace go.
    public let directory: String
    /// A PostgreSQL catalog to measure too (a database for benchmarks: runs and a trace are added).
    public let postgres: String?

    public init(directory: String, postgres: String?) {
        self.directory = directory
        self.postgres = postgres
    }

    /// Runs stored per second by `runs` calls of `storeRun` on `store`.
    public func insertRate(_ store: any CatalogStore, runs: Int) throws -> Double {
        var random = SystemRandomNumberGenerator()
        // One realistic histogram per vq: 20k latencies from 20 µs to a few ms, JSON as RunStore stores it.
        let histograms = try (0..<8).map { _ -> Data in
            var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
            for _ in 0..<20_000 { h.record(UInt64.random(in: 20_000...(UInt64.random(in: 0...9, using: &random) == 0 ? 5_000_000 : 400_000), using: &random)) }
            return try JSONEncoder().encode(h)
        }
        let results = RunResults(
            warning: nil, summaryJSON: String(repeating: "x", count: 1500),
            iothreads: (0..<3).map { RunIOThreadRow(name: "iothread\($0)", requests: 1_000_000, passes: 40_000, kicks: 30_000, notifications: 30_000, cpuPercent: 55) },
            queues: histograms.enumerated().map { RunQueueRow(device: 0, vq: $0.offset, requests: 500_000, bytes: 4 << 30, latencyHistogram: $0.element) },
            timeline: (0..<600).map { _ in UInt64.random(in: 9000...11000, using: &random) }, windowFromNs: nil, windowToNs: nil, vms: 1)
        let sweep = try store.createSweep(traceId: nil, parametersJSON: "{\"bench\":true}")
        let run = NewRun(traceId: nil, tracePath: "bench", layoutSpec: "rr:2", layoutJSON: "{}", backend: "null", timing: "afap",
                         target: "null", hostJSON: "{}", sweepId: sweep)
        let start = Date()
        for _ in 0..<runs { _ = try store.storeRun(run, results) }
        return Double(runs) / Date().timeIntervalSince(start)
    }

    /// Milliseconds to open the trace and read every record of a 1 s window: from the local
    /// file and from the catalog (a new source each time, nothing cached), with the chunks fetched.
    public struct WindowFetch: Sendable {
        public var requests: Int
        public var chunks: Int
        public var pushSeconds: Double
        public var fileMilliseconds: [Double] = []
        public var catalogMilliseconds: [Double] = []
        public var chunksFetched: [Int] = []
    }

    public func windowFetch(_ store: any CatalogStore, requests: Int, windows: Int) throws -> WindowFetch {
        let path = directory + "/bench-catalog-window.vqt"
        defer { unlink(path) }
        let sample = OLTPSample(requests: requests, seed: 7, completions: false)
        let writer = try TraceWriter(path: path, metadata: sample.metadata, options: .init(fsync: .none, replaceExisting: true))
        try sample.run { try writer.append($0) }
        let totals = try writer.finish()
        let pushStart = Date()
        let pushed = try store.push(tracePath: path)
        var result = WindowFetch(requests: requests, chunks: pushed.chunks, pushSeconds: Date().timeIntervalSince(pushStart))
        var random = SystemRandomNumberGenerator()
        let span = totals.lastSubmitNs - totals.firstSubmitNs
        for _ in 0..<windows {
            let from = totals.firstSubmitNs + UInt64.random(in: 0..<max(span - 1_000_000_000, 1), using: &random)
            func readWindow(_ reader: TraceReader) throws -> Int {
                var cursor = reader.cursor(from: from, to: from + 1_000_000_000)
                var n = 0
                while try cursor.next() != nil { n += 1 }
                return n
            }
            let t0 = Date()
            let local = try readWindow(TraceReader(path: path))
            result.fileMilliseconds.append(Date().timeIntervalSince(t0) * 1000)
            let t1 = Date()
            let source = try CatalogTraceSource(store: store, trace: pushed.trace)
            let fetched = try readWindow(TraceReader(source: source))
            result.catalogMilliseconds.append(Date().timeIntervalSince(t1) * 1000)
            result.chunksFetched.append(source.chunksFetched)
            precondition(fetched == local, "the catalog's window has \(fetched) records, the file's \(local)")
        }
        try store.remove(traceId: pushed.trace.id)
        return result
    }

    /// Both measurements on a temporary SQLite catalog and on `postgres` when given.
    public func report(runs: Int, windowRequests: Int, windows: Int) throws -> BenchmarkReport {
        let sqlitePath = directory + "/bench-catalog-\(getpid()).sqlite"
        defer { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(sqlitePath + suffix) } }
        var stores: [(String, any CatalogStore)] = [("sqlite", try TraceCatalog(path: sqlitePath))]
        if let postgres { stores.append(("postgres", try CatalogLocation(parsing: postgres).open())) }
        struct Store: Encodable {
            var store: String, runs: Int, runs_per_second: Double
            var window_requests: Int?, chunks: Int?, push_seconds: Double?
            var file_window_ms: [Double]?, catalog_window_ms: [Double]?, chunks_fetched: [Int]?
        }
        var documents: [Store] = []
        var text = "catalog: runs stored per second (8 vqs with latency histograms, 3 IOThreads, 600 timeline buckets, one transaction each)\n"
        for (name, store) in stores {
            let rate = try insertRate(store, runs: runs)
            var document = Store(store: name, runs: runs, runs_per_second: rate)
            text += "  \(name.padding(toLength: 9, withPad: " ", startingAt: 0))" + String(format: "%8.1f runs/s", rate) + "  (\(store.location))\n"
            if windowRequests > 0 && (name == "postgres" || postgres == nil) {
                let w = try windowFetch(store, requests: windowRequests, windows: windows)
                document.window_requests = w.requests
                document.chunks = w.chunks
                document.push_seconds = w.pushSeconds
                document.file_window_ms = w.fileMilliseconds
                document.catalog_window_ms = w.catalogMilliseconds
                document.chunks_fetched = w.chunksFetched
                func median(_ v: [Double]) -> Double { Median.of(v) ?? 0 }
                text += "  1 s window of a \(w.requests)-request trace (\(w.chunks) chunks, pushed in \(String(format: "%.1f", w.pushSeconds)) s), \(windows) windows:\n"
                text += String(format: "    local file:   median %.2f ms, max %.2f ms\n", median(w.fileMilliseconds), w.fileMilliseconds.max() ?? 0)
                text += "    from \(name): " + String(format: "median %.2f ms, max %.2f ms, %d–%d chunks fetched\n", median(w.catalogMilliseconds),
                                                         w.catalogMilliseconds.max() ?? 0, w.chunksFetched.min() ?? 0, w.chunksFetched.max() ?? 0)
            }
            documents.append(document)
        }
        return BenchmarkReport(text: text.trimmingCharacters(in: .newlines), json: try TextFormat.json(documents))
    }
}
