import ArgumentParser
import Catalog
import Foundation
import Trace

/// `vqtrace traces`: the trace catalog (list, show, verify, rm, reindex, add) and a synthetic
/// OLTP-shaped trace for trying the format out.
struct TracesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traces",
        abstract: "List, inspect, verify and remove recorded traces (.vqt files and their SQLite catalog).",
        discussion: """
            A trace is a .vqt file: per-vq virtio-blk request streams in checksummed, \
            zstd-compressed chunks (docs/FORMAT.md). The catalog (default \
            Traces/catalog.sqlite) indexes the files and their chunks and keeps replay \
            results; it can always be rebuilt from the files with `vqtrace traces \
            reindex`. TRACE is a file path, a catalog id or a trace name.

            Examples:
              vqtrace traces synth --out Traces/oltp.vqt --requests 1000000
              vqtrace traces list
              vqtrace traces show oltp
              vqtrace traces verify Traces/oltp.vqt
              vqtrace traces show oltp --json | jq .requests_per_vq
            """,
        subcommands: [List.self, Show.self, Verify.self, Repair.self, Remove.self, Reindex.self, Add.self, Synth.self])

    struct CatalogOption: ParsableArguments {
        @Option(help: "The SQLite catalog.")
        var catalog: String = "Traces/catalog.sqlite"

        func open() throws -> TraceCatalog { try TraceCatalog(path: catalog) }

        /// Catalogs a trace just written and says so (and which earlier trace it replaced).
        func registerAndSay(_ path: String) throws {
            let t = try open().register(tracePath: path)
            print("catalogued as trace \(t.id) (\(t.name)) in \(catalog)"
                  + (t.replacedTraceId.map { "; it replaces trace \($0), a different file at that path (the runs of trace \($0) keep their results)" } ?? ""))
        }
    }

    /// Opens TRACE: a path to a file, else a catalog id or name.
    static func resolve(_ reference: String, catalog: CatalogOption) throws -> (path: String, catalogued: CatalogTrace?) {
        if FileManager.default.fileExists(atPath: reference) {
            let existing = FileManager.default.fileExists(atPath: catalog.catalog) ? try? catalog.open().find(reference) : nil
            return (reference, existing)
        }
        let trace = try catalog.open().find(reference)
        return (trace.path, trace)
    }

    static func printJSON(_ object: Any) throws {
        print(try Format.json(object))
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the catalogued traces.")
        @OptionGroup var catalog: CatalogOption
        @Flag(help: "Print JSON for programs.") var json = false

        func run() throws {
            let traces = try catalog.open().traces()
            if json {
                try printJSON(traces.map { t -> [String: Any] in
                    ["id": t.id, "name": t.name, "path": t.path, "records": t.records, "duration_ns": t.lastSubmitNs - t.firstSubmitNs,
                     "file_bytes": t.fileSize, "complete": t.complete, "source": "\(t.sourceKind):\(t.sourceName)", "created_at": t.createdAt,
                     "chunks": t.chunkCount]
                })
                return
            }
            guard !traces.isEmpty else {
                print("no traces in \(catalog.catalog) (make one: vqtrace traces synth --out Traces/oltp.vqt)")
                return
            }
            var rows = [["id", "name", "requests", "duration", "size", "B/req", "source", "state"]]
            for t in traces {
                rows.append([
                    "\(t.id)", t.name, "\(t.records)", Format.duration(UInt64(t.lastSubmitNs - t.firstSubmitNs)),
                    Format.bytes(UInt64(t.fileSize)), t.records > 0 ? String(format: "%.2f", Double(t.fileSize) / Double(t.records)) : "-",
                    "\(t.sourceKind):\(t.sourceName)", t.complete ? "complete" : "recovered",
                ])
            }
            print(Format.table(rows, rightAligned: [0, 2, 3, 4, 5]), terminator: "")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarize a trace: duration, requests per vq, mix, sizes, latency, IOPS over time.")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The trace: a .vqt path, a catalog id or a name.") var trace: String
        @Flag(help: "Print JSON for programs.") var json = false
        @Flag(help: "Also list every chunk (offset, records, time range, queues).") var chunks = false

        func run() throws {
            let path = try TracesCommand.resolve(trace, catalog: catalog).path
            let reader = try TraceReader(path: path)
            let summary = try TraceSummary(reader: reader)
            let m = reader.metadata
            let mixNames = ["read", "write", "flush", "other"]
            if json {
                var object: [String: Any] = [
                    "path": path, "format_version": "\(reader.majorVersion).\(reader.minorVersion)", "complete": reader.isComplete,
                    "records": summary.records, "duration_ns": summary.durationNs, "file_bytes": reader.fileSize,
                    "bytes_per_request": summary.records > 0 ? Double(reader.fileSize) / Double(summary.records) : 0,
                    "mix": Dictionary(uniqueKeysWithValues: zip(mixNames, summary.mix)),
                    "bytes_read": summary.bytesRead, "bytes_written": summary.bytesWritten,
                    "requests_per_vq": Dictionary(uniqueKeysWithValues: summary.perQueue.map { ($0.queue.description, $0.requests) }),
                    "damaged_chunks": summary.damagedChunks.map { ["chunk": $0.index, "records_lost": $0.records, "problem": $0.error.description] as [String: Any] },
                    "size_histogram": Dictionary(uniqueKeysWithValues: summary.sizeHistogram.enumerated().filter { $0.element > 0 }.map { ("\(1 << $0.offset)", $0.element) }),
                    "timeline_bucket_ns": summary.timelineBucketNs, "timeline": summary.timeline,
                    "source": ["kind": m.source.kind, "name": m.source.name, "parameters": m.source.parameters],
                    "created_at": m.creationTime ?? NSNull(), "host": ["hostname": m.host.hostname, "kernel": m.host.kernel, "cpu": m.host.cpuModel, "cpus": m.host.onlineCPUs],
                    "devices": m.devices.map { ["name": $0.name, "capacity_sectors": $0.capacitySectors, "logical_block_size": $0.logicalBlockSize, "num_queues": $0.numQueues, "queue_size": $0.queueSize] },
                    "chunks": reader.chunks.count,
                ]
                if let p = summary.latencyPercentilesNs { object["latency_ns"] = ["p50": p[0], "p99": p[1], "p99.9": p[2]] }
                if let recovery = reader.recovery { object["recovery"] = recovery }
                try printJSON(object)
                return
            }
            print("trace \(path)")
            print("  format \(reader.majorVersion).\(reader.minorVersion), \(reader.isComplete ? "complete" : "RECOVERED: \(reader.recovery ?? "")")")
            print("  source \(m.source.kind): \(m.source.name)\(m.source.parameters.isEmpty ? "" : " " + m.source.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
            print("  \(m.creationTime.map { "created \($0)" } ?? "generated (no creation time: the same seed gives the same bytes)") on \(m.host.hostname) (\(m.host.cpuModel), \(m.host.onlineCPUs) CPUs, Linux \(m.host.kernel))")
            if let lost = DamagedChunk.summary(summary.damagedChunks, of: reader.totals.records) {
                print("  DAMAGED: \(lost); the figures below leave them out (details: vqtrace traces verify)")
            }
            for (i, d) in m.devices.enumerated() {
                print("  device \(i) \(d.name): \(Format.bytes(d.capacitySectors * 512)), blk_size \(d.logicalBlockSize), \(d.numQueues) queues of \(d.queueSize)")
            }
            let seconds = Double(summary.durationNs) / 1e9
            print("  \(summary.records) requests over \(Format.duration(summary.durationNs))" + (seconds > 0 ? String(format: ", %.0f IOPS mean", Double(summary.records) / seconds) : ""))
            print("  file \(Format.bytes(reader.fileSize)) in \(reader.chunks.count) chunks" + (summary.records > 0 ? String(format: ", %.2f bytes per request", Double(reader.fileSize) / Double(summary.records)) : ""))
            let total = max(summary.records, 1)
            print("  mix    " + zip(mixNames, summary.mix).map { String(format: "%@ %.1f%%", $0.0, Double($0.1) * 100 / Double(total)) }.joined(separator: "  ")
                  + "   (read \(Format.bytes(summary.bytesRead)), written \(Format.bytes(summary.bytesWritten)))")
            print("  per vq " + summary.perQueue.map { "\($0.queue) \($0.requests)" }.joined(separator: "  "))
            print("  sizes  " + summary.sizeHistogram.enumerated().filter { $0.element > 0 }
                .map { String(format: "%@ %.1f%%", Format.bytes(UInt64(1) << UInt64($0.offset)), Double($0.element) * 100 / Double(total)) }.joined(separator: "  "))
            if let p = summary.latencyPercentilesNs {
                print("  latency p50 \(Format.duration(p[0]))  p99 \(Format.duration(p[1]))  p99.9 \(Format.duration(p[2]))")
            }
            print("  IOPS over time (\(Format.duration(summary.timelineBucketNs)) per bar, peak \(Int(Double(summary.timeline.max() ?? 0) / (Double(summary.timelineBucketNs) / 1e9))) IOPS):")
            print("  \(summary.sparkline)")
            if chunks {
                var rows = [["chunk", "offset", "bytes", "records", "first submit", "last submit", "queues"]]
                for i in 0..<reader.chunks.count {
                    let c = reader.chunks[i]
                    rows.append(["\(i)", "\(c.offset)", "\(c.length)", "\(c.recordCount)", Format.duration(c.firstSubmitNs),
                                 Format.duration(c.lastSubmitNs), QueueSetText.format(try reader.queueSet(ofChunk: i))])
                }
                print(Format.table(rows, rightAligned: [0, 1, 2, 3, 4, 5]).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every chunk of a trace (checksums, columns, index); report each bad chunk and what remains readable.",
            discussion: "Exit status: 0 when the trace is intact, 1 when anything is wrong (the report says what and where).")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The trace: a .vqt path, a catalog id or a name.") var trace: String
        @Flag(help: "Print JSON for programs.") var json = false

        func run() throws {
            let path = try TracesCommand.resolve(trace, catalog: catalog).path
            let reader = try TraceReader(path: path)
            let result = reader.verify()
            if json {
                try printJSON([
                    "path": path, "clean": result.isClean, "good_chunks": result.chunksGood, "readable_records": result.recordsReadable,
                    "bad_chunks": result.badChunks.map { b -> [String: Any] in
                        var o: [String: Any] = ["chunk": b.index, "offset": b.offset, "problem": b.problem]
                        if let lost = b.recordsLost { o["records_lost"] = lost }
                        return o
                    },
                    "trailer_problem": result.trailerProblem ?? NSNull(), "tail_problem": result.tailProblem ?? NSNull(),
                ])
            } else {
                print("\(path): \(result.isClean ? "OK" : "DAMAGED")")
                print("  \(result.chunksGood) good chunks, \(result.recordsReadable) records readable")
                for b in result.badChunks {
                    print("  bad chunk \(b.index) at byte \(b.offset): \(b.problem)" + (b.recordsLost.map { " (\($0) records lost)" } ?? ""))
                }
                if let t = result.trailerProblem { print("  trailer: \(t)") }
                if let t = result.tailProblem { print("  tail: \(t)") }
            }
            if !result.isClean { throw ExitCode(1) }
        }
    }

    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the readable records of a damaged or unfinished trace into a new, finished trace.",
            discussion: """
                Every chunk that checks out is copied, in order; damaged chunks are left out and \
                listed, and a trace whose writer was killed (NAME.vqt.partial) gets its trailer. \
                The input is never changed. The output is catalogued unless --no-catalog.

                Examples:
                  vqtrace traces repair Traces/guest.vqt.partial --out Traces/guest.vqt
                  vqtrace traces repair Traces/flipped.vqt --out Traces/flipped-repaired.vqt
                """)
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The damaged or unfinished .vqt file.") var input: String
        @Option(help: "The finished trace to write.") var out: String
        @Flag(help: OutputFile.forceHelp) var force = false
        @Flag(help: "Do not add the repaired trace to the catalog.") var noCatalog = false

        func run() throws {
            try OutputFile.prepare(out, force: force)
            let report = try TraceRepair.repair(from: input, to: out, options: .init(replaceExisting: force))
            print("repaired \(input) into \(out): \(report.recordsKept) records in \(report.chunksKept) chunks kept"
                  + (report.damaged.isEmpty ? "" : "; \(DamagedChunk.summary(report.damaged, of: report.recordsKept + report.recordsLost) ?? "")"))
            if let recovery = report.recovery { print("  the input was unfinished: \(recovery)") }
            for chunk in report.damaged { print("  \(chunk)") }
            if !noCatalog { try catalog.registerAndSay(out) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a trace from the catalog and delete its file (replay results stay).")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The trace: a catalog id, name or path.") var trace: String
        @Flag(help: "Only drop the catalog rows; leave the .vqt file.") var keepFile = false

        func run() throws {
            let open = try catalog.open()
            let entry = try open.find(trace)
            try open.remove(traceId: entry.id)
            if !keepFile && FileManager.default.fileExists(atPath: entry.path) { try FileManager.default.removeItem(atPath: entry.path) }
            print("removed trace \(entry.id) (\(entry.name))" + (keepFile ? "; kept \(entry.path)" : " and deleted \(entry.path)"))
        }
    }

    struct Reindex: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild the catalog's trace and chunk rows from the files.",
            discussion: "Reads every catalogued file again, adds every *.vqt in the catalog's folder (and --dir folders), and drops rows whose file is gone.")
        @OptionGroup var catalog: CatalogOption
        @Option(help: "Another folder to pick up *.vqt files from (repeatable).") var dir: [String] = []

        func run() throws {
            let open = try catalog.open()
            let folder = (catalog.catalog as NSString).deletingLastPathComponent
            let report = try open.reindex(directories: [folder.isEmpty ? "." : folder] + dir)
            for path in report.indexed { print("indexed \(path)") }
            for path in report.dropped { print("dropped \(path) (file is gone)") }
            for failure in report.failed { print("FAILED  \(failure.error)") }
            print("\(report.indexed.count) indexed, \(report.dropped.count) dropped, \(report.failed.count) failed")
            if !report.failed.isEmpty { throw ExitCode(1) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add existing .vqt files to the catalog.")
        @OptionGroup var catalog: CatalogOption
        @Argument(help: "The .vqt files.") var files: [String]

        func run() throws {
            let open = try catalog.open()
            for file in files {
                let t = try open.register(tracePath: file)
                print("catalogued \(t.path) as trace \(t.id) (\(t.name)): \(t.records) requests in \(t.chunkCount) chunks")
            }
        }
    }

    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a synthetic OLTP-shaped trace (no I/O) to try traces out before recording real ones.",
            discussion: """
                The stream: 8 vqs on a 100 GiB device (--capacity); 8 KiB random reads and \
                writes on vqs 1-7; on vq 0, sequential log writes (512 B multiples, median \
                near 8 KiB) each followed by a FLUSH; µs timestamps with completion times \
                (--iops sets the rate). The full workload models come with `vqtrace \
                generate`.
                """)
        @OptionGroup var catalog: CatalogOption
        @Option(help: "The .vqt file to write.") var out: String
        @Flag(help: OutputFile.forceHelp) var force = false
        @Option(help: "Requests to write.") var requests: Int = 1_000_000
        @Option(help: "Seed of the stream.") var seed: UInt64 = 1
        @Option(help: "Records per chunk (the unit of crash loss and window seeks).") var recordsPerChunk: Int = 65_536
        @Option(help: "When to fsync.") var fsync: TraceFsyncPolicy = .close
        @Flag(help: "Leave out completion times (as imported traces often do).") var noCompletions = false
        @Option(help: "Mean request rate of the stream (default about 137k IOPS).") var iops: Double?
        @Option(help: "Device capacity (replays onto a file allocate this much).") var capacity: ByteSize = ByteSize(bytes: 100 << 30)
        @Flag(help: "Do not add the trace to the catalog.") var noCatalog = false

        /// Writes `requests` records of the OLTP-shaped stream to `out`, with a progress bar on a TTY.
        static func writeOLTPShape(out: String, requests: Int, seed: UInt64, withCompletions: Bool, options: TraceWriterOptions,
                                   iops: Double? = nil, capacitySectors: UInt64 = OLTPShapeStream.defaultCapacitySectors) throws -> TraceTotals {
            var stream = OLTPShapeStream(seed: seed, withCompletions: withCompletions, iops: iops, capacitySectors: capacitySectors)
            var metadata = OLTPShapeStream.metadata(capacitySectors: capacitySectors)
            metadata.source = .init(kind: "synthetic", name: "oltp-shape", parameters: ["seed": "\(seed)", "requests": "\(requests)"])
            let writer = try TraceWriter(path: out, metadata: metadata, options: options)
            let progress = Progress(total: requests, label: "writing \(out)")
            for i in 0..<requests {
                try writer.append(stream.next())
                if i & 0xFFFF == 0 {
                    progress.update(i)
                    try Interrupt.shared.check()
                }
            }
            let totals = try writer.finish()
            progress.finish()
            return totals
        }

        func validate() throws {
            guard (1...10_000_000_000).contains(requests) else { throw ValidationError("--requests must be 1...10000000000") }
            guard (1...TraceFormat.maxChunkRecords).contains(recordsPerChunk) else {
                throw ValidationError("--records-per-chunk must be 1...\(TraceFormat.maxChunkRecords)")
            }
            if let iops { guard iops.isFinite && iops > 0 && iops <= 1e9 else { throw ValidationError("--iops must be a positive rate up to 1000000000") } }
            try capacity.check("--capacity", atLeast: 2 << 20, multipleOf: 512)
        }

        func run() throws {
            try OutputFile.prepare(out, force: force)
            let totals = try Self.writeOLTPShape(
                out: out, requests: requests, seed: seed, withCompletions: !noCompletions,
                options: .init(recordsPerChunk: recordsPerChunk, fsync: fsync, replaceExisting: force), iops: iops,
                capacitySectors: capacity.bytes / 512)
            print("wrote \(out): \(totals.records) requests over \(Format.duration(totals.lastSubmitNs - totals.firstSubmitNs))")
            if !noCatalog { try catalog.registerAndSay(out) }
        }
    }
}
