import ArgumentParser
import Foundation

/// `vqtrace bench`: measures one component of the engine in isolation.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of an engine component.",
        discussion: """
            --component virtqueue: one thread plays both sides of a split virtqueue.
            Each round trip adds a 3-descriptor virtio-blk read (header, 4 KiB data,
            status), publishes it, pops and parses it on the device side, completes it,
            publishes the used ring and reaps it on the driver side. No I/O: this is the
            ring's own cost, the floor under every request vqtrace replays.

            --component trace: the .vqt codec on an OLTP-shaped stream (8 vqs, 8 KiB
            random I/O on a 100 GiB device, log writes each followed by a FLUSH, µs
            timestamps): bytes per request with and without completion times against the
            same requests as a zstd-compressed fio v3 iolog, encode and decode rates on
            one core, and (with --window-requests) the time to open a large trace and
            read a 1-second window of it.

            Examples:
              vqtrace bench --component virtqueue
              vqtrace bench --component virtqueue --round-trips 50000000 --event-idx --json
              vqtrace bench --component trace --requests 5000000
              vqtrace bench --component trace --window-requests 100000000 --dir /var/tmp
            """)

    enum Component: String, ExpressibleByArgument, CaseIterable {
        case virtqueue
        case trace
    }

    @Option(help: "What to measure: \(Component.allCases.map(\.rawValue).joined(separator: ", ")).")
    var component: Component = .virtqueue

    @Option(help: "Round trips to run (after a warm-up of 10%).")
    var roundTrips: Int = 20_000_000

    @Option(help: "Queue size Q (power of two, 2...32768).")
    var queueSize: Int = 256

    @Flag(help: "Negotiate VIRTIO_RING_F_EVENT_IDX (notification suppression by index).")
    var eventIdx = false

    @Flag(help: "Use indirect descriptor tables (VIRTIO_RING_F_INDIRECT_DESC).")
    var indirect = false

    @Option(help: "Repeat the measurement this many times and report each and the best.")
    var repeats: Int = 3

    @Option(help: "trace: requests in the size and speed stream.")
    var requests: Int = 5_000_000

    @Option(help: "trace: requests in the large trace for the window-seek measurement (0 skips it).")
    var windowRequests: Int = 0

    @Option(help: "trace: 1-second windows to seek to.")
    var windows: Int = 20

    @Option(help: "trace: folder for the temporary trace files.")
    var dir: String = NSTemporaryDirectory()

    @Flag(help: "Print JSON for programs instead of a table.")
    var json = false

    func validate() throws {
        guard roundTrips > 0 else { throw ValidationError("--round-trips must be positive") }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
    }

    func run() throws {
        switch component {
        case .trace:
            try runTrace()
        case .virtqueue:
            var features: VirtioFeaturesOption = []
            if eventIdx { features.insert(.eventIndex) }
            if indirect { features.insert(.indirect) }
            let bench = try VirtqueueRoundTripBenchmark(queueSize: queueSize, features: features)
            _ = try bench.run(roundTrips: max(roundTrips / 10, 1))
            var results: [Double] = []
            for _ in 0..<repeats {
                let result = try bench.run(roundTrips: roundTrips)
                results.append(result.roundTripsPerSecond)
            }
            let best = results.max() ?? 0
            if json {
                let object: [String: Any] = [
                    "component": "virtqueue", "queue_size": queueSize, "event_idx": eventIdx, "indirect": indirect,
                    "round_trips": roundTrips, "round_trips_per_second": results, "best_round_trips_per_second": best,
                    "ns_per_round_trip_best": 1e9 / best,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("virtqueue round trip (add → publish → pop → parse → complete → push → publish → reap), one thread")
                print("queue size \(queueSize), event_idx \(eventIdx ? "on" : "off"), indirect \(indirect ? "on" : "off"), \(roundTrips) round trips per run")
                for (i, value) in results.enumerated() {
                    print(String(format: "  run %d: %8.2f M round trips/s  (%.1f ns each)", i + 1, value / 1e6, 1e9 / value))
                }
                print(String(format: "  best:  %8.2f M round trips/s", best / 1e6))
            }
        }
    }

    private func runTrace() throws {
        let bench = TraceCodecBenchmark(directory: dir)
        var results: [TraceCodecBenchmark.SizeAndSpeed] = []
        for withCompletions in [false, true] {
            var best: TraceCodecBenchmark.SizeAndSpeed?
            for _ in 0..<repeats {
                let r = try bench.sizeAndSpeed(requests: requests, withCompletions: withCompletions, seed: 42)
                if best == nil { best = r } else {
                    best!.encodeSeconds = min(best!.encodeSeconds, r.encodeSeconds)
                    best!.decodeSeconds = min(best!.decodeSeconds, r.decodeSeconds)
                    best!.iterateSeconds = min(best!.iterateSeconds, r.iterateSeconds)
                }
            }
            results.append(best!)
        }
        let window = windowRequests > 0 ? try bench.windowSeek(requests: windowRequests, windows: windows, seed: 7) : nil
        if json {
            var object: [String: Any] = [
                "component": "trace", "requests": requests, "repeats": repeats,
                "streams": results.map { r -> [String: Any] in
                    ["completions": r.withCompletions, "trace_bytes": r.traceBytes, "bytes_per_request": r.bytesPerRequest,
                     "random_offset_floor_bytes_per_request": r.randomOffsetFloorBytesPerRequest, "fio_iolog_bytes": r.fioIologBytes, "fio_iolog_zstd_bytes": r.fioIologZstdBytes, "fio_zstd_over_trace": r.ratioToFio,
                     "encode_requests_per_second": Double(r.requests) / r.encodeSeconds,
                     "decode_requests_per_second": Double(r.requests) / r.decodeSeconds,
                     "iterate_requests_per_second": Double(r.requests) / r.iterateSeconds]
                },
            ]
            if let w = window {
                object["window"] = ["requests": w.requests, "trace_bytes": w.traceBytes, "chunks": w.chunks,
                                    "seek_ms": w.seekMilliseconds, "seek_ms_max": w.seekMilliseconds.max() ?? 0,
                                    "records_per_window": w.recordsPerWindow, "cursor_bytes": w.cursorBytes]
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("trace codec on an OLTP-shaped stream of \(requests) requests (best of \(repeats))")
        for r in results {
            print("  \(r.withCompletions ? "with completion times   " : "without completion times"):"
                  + String(format: " %.2f bytes/request; fio v3 iolog %.1f B/req, zstd -3 %.2f B/req = %.1fx larger",
                           r.bytesPerRequest, Double(r.fioIologBytes) / Double(r.requests), Double(r.fioIologZstdBytes) / Double(r.requests), r.ratioToFio))
            print(String(format: "      information floor of the random 8 KiB offsets alone: %.2f B/req (so at most %.1fx below the zstd'd iolog)",
                         r.randomOffsetFloorBytesPerRequest, Double(r.fioIologZstdBytes) / Double(r.requests) / r.randomOffsetFloorBytesPerRequest))
            print(String(format: "      encode %.2f M req/s, decode %.2f M req/s (chunks to columns), %.2f M req/s through a cursor",
                         Double(r.requests) / r.encodeSeconds / 1e6, Double(r.requests) / r.decodeSeconds / 1e6, Double(r.requests) / r.iterateSeconds / 1e6))
        }
        if let w = window {
            let sorted = w.seekMilliseconds.sorted()
            print("window seek: \(w.requests) requests, \(Format.bytes(w.traceBytes)) in \(w.chunks) chunks, written in \(String(format: "%.1f", w.writeSeconds)) s")
            print(String(format: "  open + seek + read a 1 s window (~%d records): median %.2f ms, max %.2f ms over %d windows; cursor buffer %@",
                         w.recordsPerWindow.sorted()[w.recordsPerWindow.count / 2], sorted[sorted.count / 2], sorted.last ?? 0, sorted.count,
                         Format.bytes(UInt64(w.cursorBytes))))
        }
    }
}
