import ArgumentParser
import Foundation
import Runs
import Trace
import Units
import Workload

/// `vqtrace generate`: a trace straight from a workload model, with nominal service times, no I/O.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a trace from a workload model (HammerDB-like OLTP or fio-like), without I/O.",
        discussion: """
            Workloads: oltp, oltp-oracle and oltp-postgres (docs/WORKLOADS.md gives every \
            parameter and its source), and fio (fio's option names). One stream per vCPU: in \
            the OLTP models vCPU 0 runs the log writer (each log write followed by a FLUSH), \
            vCPU 1 the database writer (checkpoint bursts), the others the virtual users. \
            Times come from nominal service times; the same seed and parameters give the same \
            bytes. The summary ends with transactions per minute and a NOPM-like figure.

            Examples:
              vqtrace generate --workload oltp-postgres --vcpus 16 --users 50 --duration 60s --out Traces/pg.vqt
              vqtrace generate --workload oltp --users 10 --duration 10s --capacity 1g --out Traces/small.vqt
              vqtrace generate --workload fio --rw randread --bs 4k --iodepth 32 --numjobs 8 --duration 10s --out Traces/fio.vqt
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @OptionGroup var model: WorkloadOptions
    @Option(help: "The .vqt file to write.") var out: String
    @Flag(help: forceHelp) var force = false
    @Flag(help: "Do not add the trace to the catalog.") var noCatalog = false

    func run() throws {
        try PartialFile.prepareOutput(out, replaceExisting: force)
        let started = Date()
        let (totals, summary) = try model.generate(to: out, replaceExisting: force)
        for line in WorkloadModel.lines(out: out, totals: totals, seconds: Date().timeIntervalSince(started)) + summary { print(line) }
        if !noCatalog { try catalog.registerAndSay(out) }
    }
}

/// A workload model and its parameters, as `generate` and `record` take them.
struct WorkloadOptions: ParsableArguments {
    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case oltp, oltpOracle = "oltp-oracle", oltpPostgres = "oltp-postgres", fio
    }

    @Option(help: "oltp, oltp-oracle, oltp-postgres or fio.") var workload: Workload
    @Option(help: "vCPUs (= virtqueues) of the VM.") var vcpus: Int = 8
    @Option(help: "OLTP: HammerDB virtual users.") var users: Int = 50
    @Option(help: "How long the modelled run lasts (10s, 2m).") var duration: Duration = Duration(seconds: 60)
    @Option(help: "Device capacity.") var capacity: ByteSize = ByteSize(bytes: 100 << 30)
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "OLTP: checkpoint interval (default: the preset's).") var checkpointInterval: Duration?
    @Option(help: "OLTP: think time per transaction (mean of an exponential).") var think: Duration?
    @Option(help: "OLTP: keying time per transaction.") var keying: Duration?
    @Option(help: "OLTP: share of pages that gets 80% of the misses.") var hotSet: Double?
    @Option(help: "fio: the access pattern (fio's names).") var rw: FioParameters.RW = .randread
    @Option(help: "fio: block size.") var bs: ByteSize?
    @Option(help: "fio: block sizes and shares, e.g. 4k/70:64k/30.") var bssplit: String?
    @Option(help: "fio: requests in flight per job.") var iodepth: Int = 8
    @Option(help: "fio: jobs (= vqs).") var numjobs: Int = 4
    @Option(help: "fio: requests per second per job (0: closed loop at iodepth).") var rateIops: Double = 0
    @Option(help: "fio: random (uniform) or zipf:θ.") var randomDistribution: String = "random"
    @Option(help: "fio: percentage of reads for randrw and rw.") var rwmixread: Int = 50

    /// Every parameter checked before anything is written (the model's rules; a usage mistake).
    func validate() throws {
        // ArgumentParser wraps what validate() throws; a ValidationError keeps exit status 2.
        do { try model().validate() } catch { throw ValidationError("\(error)") }
    }

    /// The model the options name, with their values.
    func model() throws -> WorkloadModel {
        switch workload {
        case .fio:
            return .fio(try FioParameters(rw: rw, bssplit: bssplit, bs: bs, iodepth: iodepth, numjobs: numjobs, rateIOPS: rateIops, rwmixread: rwmixread,
                                          randomDistribution: randomDistribution, durationSeconds: duration.seconds, capacityBytes: capacity.bytes, seed: seed))
        case .oltp, .oltpOracle, .oltpPostgres:
            return .oltp(OLTPParameters(preset: OLTPPreset(rawValue: workload.rawValue)!, vcpus: vcpus, users: users, durationSeconds: duration.seconds,
                                        capacityBytes: capacity.bytes, seed: seed, checkpointIntervalSeconds: checkpointInterval?.seconds,
                                        thinkSeconds: think?.seconds, keyingSeconds: keying?.seconds, hotPageShare: hotSet))
        }
    }

    /// Runs the model into a trace at `path` with a progress bar on a TTY; stops at Ctrl-C.
    func generate(to path: String, replaceExisting: Bool = false) throws -> (TraceTotals, [String]) {
        let progress = ProgressBar(total: 1000, label: "modelling \(workload.rawValue)")
        defer { progress.finish() }
        return try model().write(to: path, options: .init(fsync: .close, replaceExisting: replaceExisting),
                                 progress: { progress.update(Int($0 * 1000)) }, shouldStop: { Interrupt.shared.requested })
    }
}
