import BlockBackend
import Engine
import Foundation
import Layout
import Runs
import Units

/// What each benchmark prints: a text for people and a JSON document for programs, made here
/// so that the command line only chooses which one.
public struct BenchmarkReport: Sendable {
    public var text: String
    public var json: String
    /// Whether the measured thing failed (the command then exits 1).
    public var failed = false
}

extension VirtqueueRoundTripBenchmark {
    /// A warm-up of a tenth, then `repeats` measurements of `roundTrips` each.
    public func report(roundTrips: Int, repeats: Int, queueSize: Int, features: VirtioFeaturesOption) throws -> BenchmarkReport {
        _ = try run(roundTrips: max(roundTrips / 10, 1))
        var results: [Double] = []
        for _ in 0..<repeats { results.append(try run(roundTrips: roundTrips).roundTripsPerSecond) }
        let best = results.max() ?? 0
        struct Document: Encodable {
            var component = "virtqueue"
            var queue_size: Int, event_idx: Bool, indirect: Bool, round_trips: Int
            var round_trips_per_second: [Double], best_round_trips_per_second: Double, ns_per_round_trip_best: Double
        }
        var text = "virtqueue round trip (add → publish → pop → parse → complete → push → publish → reap), one thread\n"
        text += "queue size \(queueSize), event_idx \(features.contains(.eventIndex) ? "on" : "off"), indirect \(features.contains(.indirect) ? "on" : "off"), \(roundTrips) round trips per run\n"
        for (i, value) in results.enumerated() { text += String(format: "  run %d: %8.2f M round trips/s  (%.1f ns each)\n", i + 1, value / 1e6, 1e9 / value) }
        text += String(format: "  best:  %8.2f M round trips/s", best / 1e6)
        return BenchmarkReport(text: text, json: try TextFormat.json(Document(
            queue_size: queueSize, event_idx: features.contains(.eventIndex), indirect: features.contains(.indirect), round_trips: roundTrips,
            round_trips_per_second: results, best_round_trips_per_second: best, ns_per_round_trip_best: 1e9 / best)))
    }
}

extension EngineBenchmark {
    /// Runs the engine (and fio beside it with `compareFio`) and reports both.
    public func report(compareFio: Bool) throws -> BenchmarkReport {
        let (layout, result) = try run()
        let seconds = result.wallSeconds
        var fio: FioPeer.Result?
        if compareFio && !result.interrupted {
            do { fio = try runFio() } catch FioPeer.FioError.interrupted {}
        }
        let iops = Double(result.requests) / seconds
        let ratio = fio.map { $0.iops > 0 ? iops / $0.iops : 0 }
        struct FioFigures: Encodable { var command: String, iops: Double, read_iops: Double, write_iops: Double }
        struct Document: Encodable {
            var fioVersion = "vqtrace"
            var layout: String, backend: String, target: String?
            var jobs: [FioJob], iothreads: [IOThreadFigures], vqs: [QueueFigures], failures: [String]
            var targetPreparation: TargetPreparation
            var fio: FioFigures?, fioRatio: Double?
            enum CodingKeys: String, CodingKey {
                case fioVersion = "fio version", layout, backend, target, jobs, iothreads, vqs, failures
                case targetPreparation = "target_preparation", fio, fioRatio = "fio_ratio"
            }
        }
        let document = Document(
            layout: layoutSpec, backend: backEnd?.label ?? backend.rawValue, target: target,
            jobs: [FioJob(name: "vqtrace", options: fioOptions, queues: result.queues, seconds: seconds)],
            iothreads: result.iothreads.map(IOThreadFigures.init), vqs: result.queues.map(QueueFigures.init), failures: result.failures,
            targetPreparation: result.targetPreparation,
            fio: fio.map { FioFigures(command: $0.commandLine, iops: $0.iops, read_iops: $0.readIOPS, write_iops: $0.writeIOPS) }, fioRatio: ratio)
        var lines = ["\(backEnd?.label ?? "engine"): \(vqs) vq\(vqs == 1 ? "" : "s"), layout \(layoutSpec) (\(layout.iothreads.count) IOThread\(layout.iothreads.count == 1 ? "" : "s")), "
                     + (backEnd.map { "through \($0.label) over vhost-user" } ?? "backend \(backend.rawValue)") + "\(target.map { " on \($0)" } ?? ""), \(rw) bs \(TextFormat.bytes(UInt64(blockSize))) qd \(depth) per vq, \(String(format: "%.1f", seconds)) s"]
        lines.append("  \(result.targetPreparation.summary)")
        lines += EngineText.summaryLines(result.queues, seconds: seconds)
        if let backEnd {
            lines.append("  IOThreads: \(backEnd.label)'s own, in its process: not measured here")
        } else {
            lines.append(EngineText.iothreadTable(result.iothreads))
            lines += EngineText.cycleLines(result.iothreads, queues: result.queues)
        }
        if let fio, let ratio {
            lines.append(String(format: "  fio (%@, same pattern, same run): %.0f IOPS; vqtrace/fio = %.2f", backend == .null ? "null" : "io_uring", fio.iops, ratio))
            lines.append("    \(fio.commandLine)")
        }
        lines += result.failures.map { "  FAILED: \($0)" }
        return BenchmarkReport(text: lines.joined(separator: "\n"), json: try TextFormat.json(document), failed: !result.failures.isEmpty)
    }
}

extension TraceCodecBenchmark {
    /// Size and speed with and without completion times (best of `repeats`), and optionally the
    /// window seek on a trace of `windowRequests`.
    public func report(requests: Int, repeats: Int, windowRequests: Int, windows: Int) throws -> BenchmarkReport {
        var results: [SizeAndSpeed] = []
        for withCompletions in [false, true] {
            var best: SizeAndSpeed?
            for _ in 0..<repeats {
                let r = try sizeAndSpeed(requests: requests, withCompletions: withCompletions, seed: 42)
                if var b = best {
                    b.encodeSeconds = min(b.encodeSeconds, r.encodeSeconds)
                    b.decodeSeconds = min(b.decodeSeconds, r.decodeSeconds)
                    b.iterateSeconds = min(b.iterateSeconds, r.iterateSeconds)
                    best = b
                } else {
                    best = r
                }
            }
            results.append(best!)
        }
        let window = windowRequests > 0 ? try windowSeek(requests: windowRequests, windows: windows, seed: 7) : nil
        struct Stream: Encodable {
            var completions: Bool, trace_bytes: Int, bytes_per_request: Double, random_offset_floor_bytes_per_request: Double
            var fio_iolog_bytes: Int, fio_iolog_zstd_bytes: Int, fio_zstd_over_trace: Double
            var encode_requests_per_second: Double, decode_requests_per_second: Double, iterate_requests_per_second: Double
        }
        struct Window: Encodable {
            var requests: Int, trace_bytes: UInt64, chunks: Int, seek_ms: [Double], seek_ms_max: Double, records_per_window: [Int], cursor_bytes: Int
        }
        struct Document: Encodable { var component = "trace"; var requests: Int, repeats: Int, streams: [Stream], window: Window? }
        let document = Document(
            requests: requests, repeats: repeats,
            streams: results.map { r in
                Stream(completions: r.withCompletions, trace_bytes: r.traceBytes, bytes_per_request: r.bytesPerRequest,
                       random_offset_floor_bytes_per_request: r.randomOffsetFloorBytesPerRequest, fio_iolog_bytes: r.fioIologBytes,
                       fio_iolog_zstd_bytes: r.fioIologZstdBytes, fio_zstd_over_trace: r.ratioToFio,
                       encode_requests_per_second: Double(r.requests) / r.encodeSeconds, decode_requests_per_second: Double(r.requests) / r.decodeSeconds,
                       iterate_requests_per_second: Double(r.requests) / r.iterateSeconds)
            },
            window: window.map { w in
                Window(requests: w.requests, trace_bytes: w.traceBytes, chunks: w.chunks, seek_ms: w.seekMilliseconds,
                       seek_ms_max: w.seekMilliseconds.max() ?? 0, records_per_window: w.recordsPerWindow, cursor_bytes: w.cursorBytes)
            })
        var text = "trace codec on the OLTP model's stream of \(requests) requests (best of \(repeats))\n"
        for r in results {
            text += "  \(r.withCompletions ? "with completion times   " : "without completion times"):"
                + String(format: " %.2f bytes/request; fio v3 iolog %.1f B/req, zstd -3 %.2f B/req = %.1fx larger\n",
                         r.bytesPerRequest, Double(r.fioIologBytes) / Double(r.requests), Double(r.fioIologZstdBytes) / Double(r.requests), r.ratioToFio)
            text += String(format: "      information floor of the random page offsets alone: %.2f B/req (so at most %.1fx below the zstd'd iolog)\n",
                           r.randomOffsetFloorBytesPerRequest, Double(r.fioIologZstdBytes) / Double(r.requests) / r.randomOffsetFloorBytesPerRequest)
            text += String(format: "      encode %.2f M req/s, decode %.2f M req/s (chunks to columns), %.2f M req/s through a cursor\n",
                           Double(r.requests) / r.encodeSeconds / 1e6, Double(r.requests) / r.decodeSeconds / 1e6, Double(r.requests) / r.iterateSeconds / 1e6)
        }
        if let w = window {
            let sorted = w.seekMilliseconds.sorted()
            text += "window seek: \(w.requests) requests, \(TextFormat.bytes(w.traceBytes)) in \(w.chunks) chunks, written in \(String(format: "%.1f", w.writeSeconds)) s\n"
            text += String(format: "  open + seek + read a 1 s window (~%d records): median %.2f ms, max %.2f ms over %d windows; cursor buffer %@\n",
                           w.recordsPerWindow.sorted()[w.recordsPerWindow.count / 2], sorted[sorted.count / 2], sorted.last ?? 0, sorted.count,
                           TextFormat.bytes(UInt64(w.cursorBytes)))
        }
        text.removeLast()
        return BenchmarkReport(text: text, json: try TextFormat.json(document))
    }
}

extension ImportBenchmark {
    /// Both formats, best of `repeats`, beside `wc -l`.
    public func report(requests: Int, repeats: Int) throws -> BenchmarkReport {
        let results = try run(requests: requests, repeats: repeats)
        struct Format: Encodable {
            var format: String, lines: Int, requests: UInt64, file_bytes: UInt64, seconds: Double, lines_per_second: Double
            var wc_lines_per_second: Double?, import_over_wc: Double?
        }
        struct Document: Encodable { var component = "import"; var requests: Int, repeats: Int, formats: [Format] }
        let document = Document(requests: requests, repeats: repeats, formats: results.map { r in
            Format(format: r.format.rawValue, lines: r.lines, requests: r.requests, file_bytes: r.fileBytes, seconds: r.seconds,
                   lines_per_second: r.linesPerSecond, wc_lines_per_second: r.wcLinesPerSecond, import_over_wc: r.wcLinesPerSecond.map { r.linesPerSecond / $0 })
        })
        var rows = [["format", "lines", "file", "import", "lines/s", "MB/s", "wc -l lines/s", "import/wc"]]
        for r in results {
            rows.append([r.format.rawValue, "\(r.lines)", TextFormat.bytes(r.fileBytes), String(format: "%.2f s", r.seconds),
                         String(format: "%.2f M", r.linesPerSecond / 1e6), String(format: "%.0f", Double(r.fileBytes) / r.seconds / 1e6),
                         r.wcLinesPerSecond.map { String(format: "%.1f M", $0 / 1e6) } ?? "-",
                         r.wcLinesPerSecond.map { String(format: "%.2f", r.linesPerSecond / $0) } ?? "-"])
        }
        var text = "import of the OLTP model's stream of \(requests) requests (8 vqs), best of \(repeats), two passes over the file; wc -l on the same file for reference\n"
        text += TextFormat.table(rows, rightAligned: Set(1..<8))
        text.removeLast()
        return BenchmarkReport(text: text, json: try TextFormat.json(document))
    }
}

extension ReplayBenchmark {
    /// Open-loop replay at 20k and 100k IOPS for `seconds` each, under each of `settings` on the
    /// same trace in turn, beside fio --read_iolog of the same requests.
    public func report(seconds: Double, layout: String, realtime: Bool, settings: [DriverThreads] = [.auto, .perVQ]) throws -> BenchmarkReport {
        struct Run: Encodable {
            var iops: Double, driver_threads: String, threads: Int, requests: Int, recorded_ns: UInt64, replayed_ns: UInt64, drift: Double
            var lateness_ns_p50: UInt64, lateness_ns_p99: UInt64, lateness_ns_p99_9: UInt64
        }
        struct Fio: Encodable { var iops: Double, runtime_ms: Double?, drift: Double? }
        struct Floor: Encodable { var iops: Double, lateness_ns_p50: UInt64, lateness_ns_p99: UInt64, lateness_ns_p99_9: UInt64 }
        var runs: [Run] = []
        var floors: [Floor] = []
        var fio: [Fio] = []
        var rows = [["rate", "driver threads", "requests", "recorded", "vqtrace took", "drift", "lateness p50", "p99", "p99.9"]]
        let load = try startLoad()
        defer { stopLoad(load) }
        for rate in [20_000.0, 100_000.0] {
            let path = try writeTrace(iops: rate, seconds: seconds)
            defer { unlink(path) }
            let floor = HostTimerFloor(requestsPerSecond: rate, seconds: seconds).measure()
            let f = Floor(iops: rate, lateness_ns_p50: HostTimerFloor.percentile(floor, 50), lateness_ns_p99: HostTimerFloor.percentile(floor, 99),
                          lateness_ns_p99_9: HostTimerFloor.percentile(floor, 99.9))
            floors.append(f)
            rows.append(["\(Int(rate / 1000))k IOPS", "host floor (1)", "\(floor.count)", "", "", "",
                         TextFormat.duration(f.lateness_ns_p50), TextFormat.duration(f.lateness_ns_p99), TextFormat.duration(f.lateness_ns_p99_9)])
            for setting in settings {
                let r = try run(tracePath: path, iops: rate, layout: layout, driverThreads: setting, realtime: realtime)
                runs.append(Run(iops: rate, driver_threads: setting.description, threads: r.threads, requests: r.requests, recorded_ns: r.recordedNs,
                                replayed_ns: r.replayedNs, drift: r.vqtraceDrift, lateness_ns_p50: r.latenessNs.p50,
                                lateness_ns_p99: r.latenessNs.p99, lateness_ns_p99_9: r.latenessNs.p999))
                rows.append([
                    "\(Int(rate / 1000))k IOPS", "\(setting) (\(r.threads))", "\(r.requests)", TextFormat.duration(r.recordedNs),
                    TextFormat.duration(r.replayedNs), String(format: "%+.3f%%", r.vqtraceDrift * 100), TextFormat.duration(r.latenessNs.p50),
                    TextFormat.duration(r.latenessNs.p99), TextFormat.duration(r.latenessNs.p999),
                ])
            }
            let recorded = Double(runs.last?.recorded_ns ?? 1)
            let fioMs = try? fioReplay(tracePath: path)
            fio.append(Fio(iops: rate, runtime_ms: fioMs, drift: fioMs.map { $0 * 1e6 / recorded - 1 }))
        }
        struct Document: Encodable {
            var component = "replay"; var layout: String, realtime: Bool, competing_load: Int, runs: [Run], host_floor: [Floor], fio: [Fio]
        }
        var text = "open-loop replay on the null backend (8 vqs, layout \(layout)\(realtime ? ", SCHED_FIFO drivers" : "")"
            + "\(competingLoad > 0 ? ", \(competingLoad) busy-loop process\(competingLoad == 1 ? "" : "es") beside it" : ""))\n"
        text += TextFormat.table(rows, rightAligned: Set(2..<9))
        text += "fio --read_iolog of the same requests (null engine): "
            + fio.map { f in "\(Int(f.iops / 1000))k IOPS " + (f.drift.map { String(format: "%+.2f%%", $0 * 100) } ?? "not run") }.joined(separator: ", ")
        text += "\nhost floor: a bare loop waiting for the same deadlines on one thread (sleep, then spin the last 100 µs), just before the replays;"
            + " no replayer is on time more often than it, since every deadline inside a gap in which the host took the CPU away is late.\n"
        return BenchmarkReport(text: text, json: try TextFormat.json(Document(layout: layout, realtime: realtime, competing_load: competingLoad, runs: runs, host_floor: floors, fio: fio)))
    }
}
