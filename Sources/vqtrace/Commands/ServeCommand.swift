import ArgumentParser
import BlockBackend
import CLinuxShim
import Catalog
import Engine
import Foundation
import Layout
import Trace
import VhostUser

/// `vqtrace serve`: a vhost-user-blk back-end on the engine, recording what a real guest submits.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a disk to a QEMU guest over vhost-user-blk through the engine, and record its requests per vq.",
        discussion: """
            QEMU hands the guest's virtqueues to vqtrace over a Unix socket; the engine's \
            IOThreads serve them under LAYOUT onto --target, and with --record every request is \
            written to a trace with its vq, sector, size, submit and completion times. Serves \
            one guest, then stops: when the guest disconnects (QEMU quits, the guest powers off) \
            or on SIGINT/SIGTERM, finishing the trace and cataloguing it.

            The guest's memory must be shareable with vqtrace:
              qemu-system-x86_64 ... \\
                -object memory-backend-memfd,id=mem,size=512M,share=on \\
                -numa node,memdev=mem -chardev socket,id=c0,path=/tmp/vq.sock \\
                -device vhost-user-blk-pci,chardev=c0,num-queues=4

            A message that breaks the vhost-user protocol closes the connection with a log line \
            naming it; the server never trusts the guest's rings (every descriptor is checked \
            against the memory table).

            \(LayoutSpec.help)

            Examples:
              vqtrace serve --socket /tmp/vq.sock --target /var/tmp/disk.img --size 1g \\
                --num-queues 4 rr:2 --record Traces/guest.vqt
              vqtrace serve --socket /tmp/vq.sock --target /dev/nvme1n1 --allow-writes \\
                --num-queues 8 per-vq
            """)

    @OptionGroup var catalog: TracesCommand.CatalogOption
    @Option(help: "The Unix socket QEMU connects to (-chardev socket,path=…).") var socket: String
    @Option(help: "The disk: a raw file (created or grown to --size; never filled with test data) or a block device, opened with O_DIRECT. Disk-image containers (qcow2, VMDK, VHD/VHDX, VDI) are refused: convert them to raw first.") var target: String
    @Option(help: "The disk's size, for a file (default: the file's size).") var size: ByteSize?
    @Option(help: "vqs the device offers (QEMU's num-queues must not exceed it).") var numQueues: Int = 1
    @Argument(help: "The IOThread layout (see below).") var layout: String = "single"
    @Option(help: "Where requests go.") var backend: BackendKind = .ioUring
    @Option(help: "Where IOThreads run: none (the default: the guest's vCPU threads are QEMU's, and pinning onto their CPUs costs more than it gives), auto (the last CPUs) or a CPU list.") var pin: String = "none"
    @Option(help: "Record every request the guest submits into this .vqt trace.") var record: String?
    @Flag(help: "Replace the --record file if it exists.") var force = false
    @Flag(help: "Offer the disk read-only.") var readOnly = false
    @Flag(help: "Log every vhost-user message.") var traceMessages = false
    @Flag(help: "Do not add the recorded trace to the catalog.") var noCatalog = false
    @OptionGroup var device: DeviceSafetyOptions

    func validate() throws {
        guard (1...256).contains(numQueues) else { throw ValidationError("--num-queues must be 1...256") }
        try size?.check("--size", atLeast: 1 << 20, multipleOf: 512)
        do { _ = try LayoutSpec.parse(layout, numQueues: numQueues) } catch { throw ValidationError("invalid layout: \(error)") }
        _ = try PinPolicy(parsing: pin)
    }

    func run() throws {
        let iothreadLayout = try LayoutSpec.parse(layout, numQueues: numQueues)
        let pinPolicy = try PinPolicy(parsing: pin)
        var info = stat()
        let exists = stat(target, &info) == 0
        let isDevice = exists && info.st_mode & S_IFMT == S_IFBLK
        let existing = exists && !isDevice ? UInt64(info.st_size) : nil
        guard let bytes = size?.bytes ?? (isDevice ? UInt64(0) : existing), isDevice || bytes > 0 else {
            throw ServeError("\(target) does not exist or is empty: give its size with --size")
        }
        // The guest sees the bytes as they are: a container's header and tables would be its
        // disk, and its writes would wreck the image. (Serving never fills or marks anything:
        // the disk is the guest's, holes and all.)
        if exists, let container = DeviceSafety.imageContainer(ofPath: target) {
            throw ServeError("\(target) is a \(container), and vqtrace serve serves raw disks only: convert it (qemu-img convert -O raw \(target) disk.raw) and serve the copy, or serve the image with qemu-storage-daemon")
        }
        let blockTarget = try BlockTarget(path: target, size: bytes, writes: !readOnly, safety: device.safety)
        let capacity = blockTarget.size / 512

        var writer: TraceWriter?
        var sink: RecordingSink?
        var taps: [RecorderTap]?
        if let record {
            try OutputFile.prepare(record, force: force)
            let metadata = TraceMetadata(
                devices: [.init(name: "vda", capacitySectors: capacity, numQueues: UInt16(numQueues))],
                source: .init(kind: "vhost-user", name: "guest", parameters: ["socket": socket, "layout": layout, "backend": backend.rawValue, "target": target]))
            // A guest's recording is kept as RECORD.partial if serve dies unfinished: its
            // completed chunks can be recovered (vqtrace traces repair).
            let w = try TraceWriter(path: record, metadata: metadata, options: .init(fsync: .chunk, replaceExisting: force, keepUnfinished: true))
            let s = RecordingSink.writing(to: w)
            taps = iothreadLayout.iothreads.map { _ in s.makeTap() }
            s.start()
            writer = w
            sink = s
        }

        // SIGINT/SIGTERM wake the server's poll through an eventfd; it then stops the session
        // (draining what is in flight) and finishes the recording.
        let stopFD = linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK)
        Interrupt.shared.onInterrupt { _ = linux_eventfd_write(stopFD, 1) }
        signal(SIGPIPE, SIG_IGN)

        func log(_ line: String) {
            FileHandle.standardError.write(Data("vqtrace serve: \(line)\n".utf8))
        }
        var options = VhostUserBlkOptions(numQueues: numQueues, capacitySectors: capacity)
        options.readOnly = readOnly
        let backendKind = backend
        let vhost = VhostUserBlkBackend(options: options, log: log) { served in
            try EngineSession(devices: [served], layout: iothreadLayout, backend: backendKind, target: blockTarget, pin: pinPolicy, taps: taps)
        }
        let server = try VhostUserServer(socketPath: socket)
        log("listening on \(socket): \(Format.bytes(capacity * 512)) on \(target), \(numQueues) vq\(numQueues == 1 ? "" : "s"), layout \(layout), \(backend.rawValue)"
            + (record.map { ", recording into \($0)" } ?? ""))
        let outcome = server.serveOne(backend: vhost, stopFD: stopFD, traceMessages: traceMessages, log: log)
        log("\(outcome == .stopped ? "stopped" : "done"): \(vhost.requestsServed) requests served in \(vhost.sessionsStarted) session\(vhost.sessionsStarted == 1 ? "" : "s")")

        if let sink, let writer, let record {
            sink.finish()
            if let error = sink.error { throw error }
            let totals = try writer.finish()
            print("recorded \(record): \(totals.records) requests"
                  + (sink.dropped > 0 || sink.reordered > 0 ? " (\(sink.dropped) dropped, \(sink.reordered) placed late)" : ""))
            if !noCatalog { try catalog.registerAndSay(record) }
        }
        if case .protocolError(let why) = outcome { throw ServeError("the front-end broke the vhost-user protocol: \(why)") }
    }
}

/// Why `vqtrace serve` could not serve or ended badly (a run-time failure, not a usage mistake).
struct ServeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
