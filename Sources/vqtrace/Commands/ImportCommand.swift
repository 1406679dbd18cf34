import ArgumentParser
import Trace
import Foundation
import Import
import Runs
import Units

extension ImportFormat: ExpressibleByArgument {}
extension VQMap: ExpressibleByArgument {}

/// `vqtrace import`: text traces in other formats into a .vqt trace.
extension ImportTimeUnit: ExpressibleByArgument {}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import fio iologs, blkparse or ftrace blk text, or a public block trace into a .vqt trace.",
        discussion: """
            Formats (--format, or auto to detect from the first lines):
            \(ImportFormat.help)

            Each device of the source (a fio file, blkparse's MAJ,MIN, an MSR host and disk, a \
            volume) becomes a device of the trace, vda, vdb…; the source names are kept in the \
            trace's metadata (vqtrace traces show). Several files are merged by time. The first \
            request is at time 0. Completions come from blkparse/ftrace C events (paired with \
            their Q by device and sector, merged requests included) and from MSR's response \
            time. A preflush write becomes a FLUSH then the WRITE, as a guest's virtio-blk \
            driver sends it.

            Requests go to vqs by --vq-map: cpu (the submitting CPU modulo --queues; the default \
            for blkparse and ftrace, where --queues defaults to the highest CPU + 1, one vq per \
            vCPU as Linux's virtio-blk sets up), pid, round-robin (the default elsewhere) or hash \
            of the sector.

            A bad line stops the import with FILE:LINE: what is wrong; --skip-bad-lines goes on \
            and counts them. Input is streamed twice with bounded memory; a failed import leaves \
            no file and nothing in the catalog.

            Examples:
              fio --name=db --filename=/tmp/f --rw=randrw --size=1g --write_iolog=db.log
              vqtrace import db.log --queues 4 --out Traces/db.vqt
              blktrace -d /dev/vdb -o - | blkparse -i - > vdb.txt
              vqtrace import --format blkparse vdb.txt --out Traces/vdb.vqt
              vqtrace import --format disksim --time-unit us trace.ascii --out Traces/ds.vqt
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Option(help: "The input format, or auto.") var format: String = "auto"
    @Argument(help: "The files to import (one format; merged by time).") var files: [String]
    @Option(help: "The .vqt file to write.") var out: String
    @Flag(help: forceHelp) var force = false
    @Option(help: "vqs per device (default: highest CPU + 1 with --vq-map cpu, else 1).") var queues: Int?
    @Option(help: "How requests are spread over vqs: cpu, pid, round-robin or hash (default: cpu for blkparse and ftrace-blk, else round-robin).")
    var vqMap: VQMap?
    @Option(help: "Capacity of every device, e.g. 100g (default: the furthest byte addressed, rounded up to 1 MiB).") var capacity: ByteSize?
    @Option(help: "Unit of the timestamps for disksim (default ms), alibaba (us) and tencent (s).") var timeUnit: ImportTimeUnit?
    @Flag(help: "Skip bad lines (and count them) instead of stopping at the first.") var skipBadLines = false
    @Flag(help: "Do not add the trace to the catalog.") var noCatalog = false
    @Flag(help: "Print the result as JSON.") var json = false

    var job: ImportJob {
        var job = ImportJob(files: files, out: out)
        (job.format, job.queues, job.vqMap, job.capacityBytes, job.timeUnitNs) = (format, queues, vqMap, capacity?.bytes, timeUnit?.nanoseconds)
        (job.skipBadLines, job.replaceExisting, job.shouldStop) = (skipBadLines, force, { Interrupt.shared.requested })
        return job
    }

    func validate() throws { try flagged { try job.validate() } }

    func run() throws {
        let progress = ProgressBar(total: 2000, label: "importing")
        var report = try flagged { defer { progress.finish() }; return try job.run(progress: progress.update) }
        let catalogued = noCatalog ? nil : try catalog.open().register(tracePath: out)
        report.catalogId = catalogued?.id
        if json { return print(try TextFormat.json(report)) }
        for line in report.lines { print(line) }
        if let catalogued { print(catalogued.registration(in: try catalog.location.description)) }
    }
}
