import ArgumentParser
import BlockBackend
import Engine
import Foundation

/// `vqtrace bench`: measures one component of the engine in isolation.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of an engine component.",
        discussion: """
            --component engine (the default with --target or --backend): one vCPU \
            driver thread per vq keeps --qd requests in flight from a fio-like pattern; \
            IOThreads serve the vqs as the LAYOUT maps them and send the requests to \
            the backend (io_uring or threads on the --target file with O_DIRECT, or \
            null). The table shows IOPS, bandwidth, completion latency and what each \
            IOThread did; --json gives fio's JSON shape (jobs[0].read.iops, bw_bytes, \
            clat_ns.percentile) plus iothreads and vqs arrays; --compare-fio runs fio \
            with the same pattern on the same file in the same run. A file target is \
            filled with data before the run (once: later runs find no holes or \
            unwritten extents and go straight on); the "target" line says how it was \
            prepared.

            --component virtqueue: one thread plays both sides of a split virtqueue. \
            Each round trip adds a 3-descriptor virtio-blk read (header, 4 KiB data, \
            status), publishes it, pops and parses it on the device side, completes it, \
            publishes the used ring and reaps it on the driver side. No I/O: this is the \
            ring's own cost, the floor under every request vqtrace replays.

            --component trace: the .vqt codec on an OLTP-shaped stream (8 vqs, 8 KiB \
            random I/O on a 100 GiB device, log writes each followed by a FLUSH, µs \
            timestamps): bytes per request with and without completion times against \
            the same requests as a zstd-compressed fio v3 iolog, encode and decode rates \
            on one core, and (with --window-requests) the time to open a large trace and \
            read a 1-second window of it.

            --component replay: open-loop replay fidelity. An OLTP-shaped 8-vq trace at 20k and \
            100k IOPS (for --duration) is replayed on the null backend under LAYOUT, and the same \
            requests as a fio v3 iolog through fio --read_iolog with its null engine: how long \
            each took against the recorded span (drift), and the lateness of vqtrace's \
            submissions against their deadlines (p50, p99, p99.9). --realtime runs the vCPU \
            drivers under SCHED_FIFO.

            --component import: vqtrace import of a fio v3 iolog and of blkparse text (Q and C \
            lines), both written from the same OLTP-shaped stream of --requests requests: lines \
            per second and MB/s, beside wc -l on the same file (the speed of just finding the \
            lines).

            Examples:
              vqtrace bench --target /tmp/disk.img --size 1G --qd 32 --compare-fio
              vqtrace bench --target /tmp/disk.img --vqs 8 --rw randrw --bs 8k rr:2
              vqtrace bench --backend null --vqs 8 --qd 128 per-vq --json
              vqtrace bench --component virtqueue
              vqtrace bench --component virtqueue --round-trips 50000000 --event-idx --json
              vqtrace bench --component trace --requests 5000000
              vqtrace bench --component trace --window-requests 100000000 --dir /var/tmp
              vqtrace bench --component replay --duration 3s rr:2
              vqtrace bench --component import --requests 2000000 --repeats 1
            """)

    enum Component: String, ExpressibleByArgument, CaseIterable {
        case engine
        case virtqueue
        case trace
        case replay
        case `import`
    }

    @Option(help: "What to measure: \(Component.allCases.map(\.rawValue).joined(separator: ", ")) (default: engine when --target or --backend is given, else virtqueue).")
    var component: Component?

    @Argument(help: "engine: the IOThread layout (single, rr:N, per-vq, qemu:…, libvirt:…; see `vqtrace mapping --help`).")
    var layout: String = "single"

    @Option(help: "engine: the file or block device to do I/O on, with O_DIRECT. Not needed with --backend null. A new file is created at --size and filled with data before the run (reads of holes and unwritten extents never reach the disk); an existing file's holes and unwritten extents are filled too, which, like a pattern that writes, needs --allow-writes when vqtrace did not create the file (and --destroy-data when it carries a disk-image or filesystem signature). Devices: never a mounted or root disk; writes need --allow-writes; a signature or holders need --destroy-data.")
    var target: String?

    @Option(help: "engine: size of the target region (512, 4k, 1G, …).")
    var size: ByteSize = ByteSize(bytes: 1 << 30)

    @Option(help: "engine: where requests go; null completes them at once: the engine's own cost. (default: io_uring)")
    var backend: BackendKind?

    @Option(help: "engine: virtqueues (one vCPU driver thread each).")
    var vqs: Int = 1

    @Option(help: "engine: the access pattern (fio's names).")
    var rw: IOPatternKind = .randread

    @Option(help: "engine: block size.")
    var bs: ByteSize = ByteSize(bytes: 4096)

    @Option(help: "engine: requests in flight per vq.")
    var qd: Int = 32

    @Option(help: "engine: percentage of reads for randrw.")
    var rwmixread: Int = 50

    @Option(help: "engine: how long to run (10s, 500ms, 1m).")
    var duration: Duration = Duration(seconds: 10)

    @Option(help: "engine: pin threads: auto (IOThreads on the last CPUs, vCPU drivers on the first; steadier numbers), none, or a CPU list (IOThreads first, then drivers).")
    var pin: String = "auto"

    @Flag(help: "engine: vCPU drivers poll for completions instead of sleeping on their irqfd.")
    var pollCompletions = false

    @Flag(help: "engine: do not merge adjacent requests of a pass into one I/O (QEMU merges by default).")
    var noMerge = false

    @OptionGroup var device: DeviceSafetyOptions

    @Flag(help: "replay: run the vCPU drivers under SCHED_FIFO (needs root or RLIMIT_RTPRIO).")
    var realtime = false

    @Option(help: "engine: seed of the pattern.")
    var seed: UInt64 = 1

    @Flag(help: "engine: also run fio with the same pattern on the same file (io_uring, or null for --backend null) and print the ratio.")
    var compareFio = false

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
        guard (1...10_000_000_000).contains(roundTrips) else { throw ValidationError("--round-trips must be 1...10000000000") }
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats must be 1...1000") }
        guard (2...32768).contains(queueSize) && queueSize & (queueSize - 1) == 0 else {
            throw ValidationError("--queue-size must be a power of two in 2...32768")
        }
        guard (1...10_000_000_000).contains(requests) else { throw ValidationError("--requests must be 1...10000000000") }
        guard (0...10_000_000_000).contains(windowRequests) else { throw ValidationError("--window-requests must be 0...10000000000") }
        guard (1...100_000).contains(windows) else { throw ValidationError("--windows must be 1...100000") }
        try duration.check("--duration")
        if resolvedComponent == .engine {
            let kind = backend ?? .ioUring
            if kind != .null && target == nil { throw ValidationError("--backend \(kind.rawValue) needs --target FILE (a file under /tmp is fine)") }
            guard bs.bytes >= 512 && bs.bytes % 512 == 0 && bs.bytes <= 1 << 20 else { throw ValidationError("--bs must be a multiple of 512 up to 1m") }
            guard size.bytes >= bs.bytes else { throw ValidationError("--size must be at least --bs") }
            try size.check("--size", atLeast: 1 << 20, multipleOf: 512)
            guard (1...1024).contains(vqs) else { throw ValidationError("--vqs must be 1...1024") }
            guard (1...1024).contains(qd) else { throw ValidationError("--qd must be 1...1024") }
            guard (0...100).contains(rwmixread) else { throw ValidationError("--rwmixread must be 0...100") }
            _ = try PinPolicy(parsing: pin)
        }
    }

    private func runEngine() throws {
        let kind = backend ?? .ioUring
        let bench = EngineBenchmark(
            target: target, sizeBytes: size.bytes, backend: kind, vqs: vqs, layoutSpec: layout, rw: rw,
            blockSize: Int(bs.bytes), depth: qd, rwmixread: rwmixread, seconds: duration.seconds, pin: try PinPolicy(parsing: pin),
            pollCompletions: pollCompletions, merge: !noMerge, seed: seed,
            deviceSafety: device.safety, fillProgress: TargetPreparationOutput.fillProgress(enabled: !json))
        let (resolvedLayout, result) = try bench.run()
        let seconds = result.wallSeconds
        var fio: FioPeer.Result?
        if compareFio {
            fio = try FioPeer.run(engine: kind == .null ? "null" : "io_uring", target: target, sizeBytes: size.bytes, rw: rw.rawValue,
                                  blockSize: Int(bs.bytes), depth: qd, jobs: vqs, rwmixread: rwmixread, seconds: duration.seconds)
        }
        let iops = Double(result.requests) / seconds
        if json {
            var object: [String: Any] = [
                "fio version": "vqtrace", "layout": layout, "backend": kind.rawValue, "target": target ?? NSNull(),
                "jobs": [[
                    "jobname": "vqtrace", "job options": ["rw": rw.rawValue, "bs": "\(bs.bytes)", "iodepth": "\(qd)", "numjobs": "\(vqs)", "size": "\(size.bytes)"],
                    "read": EngineBenchmark.fioDirection(result.queues, read: true, seconds: seconds),
                    "write": EngineBenchmark.fioDirection(result.queues, read: false, seconds: seconds),
                    "elapsed": seconds,
                ]],
                "iothreads": EngineBenchmark.iothreadsJSON(result.iothreads),
                "vqs": EngineBenchmark.queuesJSON(result.queues),
                "failures": result.failures,
                "target_preparation": TargetPreparationOutput.json(result.targetPreparation),
            ]
            if let fio {
                object["fio"] = ["command": fio.commandLine, "iops": fio.iops, "read_iops": fio.readIOPS, "write_iops": fio.writeIOPS]
                object["fio_ratio"] = fio.iops > 0 ? iops / fio.iops : NSNull()
            }
            print(try Format.json(object))
        } else {
            print("engine: \(vqs) vq\(vqs == 1 ? "" : "s"), layout \(layout) (\(resolvedLayout.iothreads.count) IOThread\(resolvedLayout.iothreads.count == 1 ? "" : "s")), backend \(kind.rawValue)\(target.map { " on \($0)" } ?? ""), \(rw) bs \(Format.bytes(bs.bytes)) qd \(qd) per vq, \(String(format: "%.1f", seconds)) s")
            print("  \(result.targetPreparation.summary)")
            for line in EngineBenchmark.summaryLines(result.queues, seconds: seconds) { print(line) }
            print(EngineBenchmark.iothreadTable(result.iothreads))
            if let fio {
                print(String(format: "  fio (%@, same pattern, same run): %.0f IOPS; vqtrace/fio = %.2f", kind == .null ? "null" : "io_uring", fio.iops, fio.iops > 0 ? iops / fio.iops : 0))
                print("    \(fio.commandLine)")
            }
            for failure in result.failures { print("  FAILED: \(failure)") }
        }
        if !result.failures.isEmpty { throw ExitCode(1) }
    }

    var resolvedComponent: Component { component ?? (target != nil || backend != nil ? .engine : .virtqueue) }

    func run() throws {
        switch resolvedComponent {
        case .engine:
            try runEngine()
        case .trace:
            try runTrace()
        case .replay:
            try runReplay()
        case .import:
            try runImport()
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
                print(try Format.json(object))
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
            print(try Format.json(object))
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

    private func runImport() throws {
        let results = try ImportBenchmark(directory: dir).run(requests: requests, repeats: repeats)
        if json {
            print(try Format.json([
                "component": "import", "requests": requests, "repeats": repeats,
                "formats": results.map { r -> [String: Any] in
                    var o: [String: Any] = ["format": r.format.rawValue, "lines": r.lines, "requests": r.requests, "file_bytes": r.fileBytes,
                                            "seconds": r.seconds, "lines_per_second": r.linesPerSecond]
                    if let wc = r.wcLinesPerSecond { o["wc_lines_per_second"] = wc; o["import_over_wc"] = r.linesPerSecond / wc }
                    return o
                },
            ] as [String: Any]))
            return
        }
        print("import of an OLTP-shaped stream of \(requests) requests (8 vqs), best of \(repeats), two passes over the file; wc -l on the same file for reference")
        var rows = [["format", "lines", "file", "import", "lines/s", "MB/s", "wc -l lines/s", "import/wc"]]
        for r in results {
            rows.append([r.format.rawValue, "\(r.lines)", Format.bytes(r.fileBytes), String(format: "%.2f s", r.seconds),
                         String(format: "%.2f M", r.linesPerSecond / 1e6), String(format: "%.0f", Double(r.fileBytes) / r.seconds / 1e6),
                         r.wcLinesPerSecond.map { String(format: "%.1f M", $0 / 1e6) } ?? "-",
                         r.wcLinesPerSecond.map { String(format: "%.2f", r.linesPerSecond / $0) } ?? "-"])
        }
        print(Format.table(rows, rightAligned: Set(1..<8)), terminator: "")
    }

    private func runReplay() throws {
        let bench = ReplayBenchmark(directory: dir)
        var rows = [["rate", "requests", "recorded", "vqtrace took", "drift", "lateness p50", "p99", "p99.9", "fio took", "fio drift"]]
        for rate in [20_000.0, 100_000.0] {
            let r = try bench.run(iops: rate, seconds: duration.seconds, layout: layout, realtime: realtime)
            rows.append([
                "\(Int(rate / 1000))k IOPS", "\(r.requests)", Format.duration(r.recordedNs), Format.duration(r.replayedNs),
                String(format: "%+.2f%%", r.vqtraceDrift * 100), Format.duration(r.latenessNs.p50), Format.duration(r.latenessNs.p99),
                Format.duration(r.latenessNs.p999), r.fioRuntimeMs.map { String(format: "%.0f ms", $0) } ?? "-",
                r.fioDrift.map { String(format: "%+.2f%%", $0 * 100) } ?? "-",
            ])
        }
        print("open-loop replay on the null backend (8 vqs, layout \(layout)\(realtime ? ", SCHED_FIFO drivers" : "")) beside fio --read_iolog with the null engine")
        print(Format.table(rows, rightAligned: Set(1..<10)), terminator: "")
    }
}
