import ArgumentParser
import Trace
import Engine
import Foundation
import Layout
import Runs
import Units
import VhostUser

/// `vqtrace serve`: a vhost-user-blk back-end on the engine, recording what a real guest submits.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a disk to a QEMU guest over vhost-user-blk through the engine, and record its requests per vq.",
        discussion: """
            QEMU hands the guest's virtqueues to vqtrace over a Unix socket; the engine's IOThreads serve them under LAYOUT onto \
            --target, and with --record every request is written to a trace with its vq, sector, size, submit and completion \
            times. Serves one guest, then stops: when the guest disconnects (QEMU quits, the guest powers off) or on \
            SIGINT/SIGTERM, finishing the trace and cataloguing it.

            The guest's memory must be shareable with vqtrace:
              qemu-system-x86_64 ... \\
                -object memory-backend-memfd,id=mem,size=512M,share=on \\
                -numa node,memdev=mem -chardev socket,id=c0,path=/tmp/vq.sock \\
                -device vhost-user-blk-pci,chardev=c0,num-queues=4

            A message that breaks the vhost-user protocol closes the connection with a log line naming it; the server never \
            trusts the guest's rings (every descriptor is checked against the memory table).

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
        do { _ = try LayoutSpec.parse(layout, numQueues: numQueues) } catch { throw ValidationError("\(error)") }
        _ = try PinPolicy(parsing: pin, option: "--pin")
    }

    func run() throws {
        var configuration = GuestDiskServer.Configuration(socket: socket, target: target, sizeBytes: size?.bytes, numQueues: numQueues, layout: layout)
        configuration.backend = backend
        configuration.pin = try PinPolicy(parsing: pin, option: "--pin")
        configuration.readOnly = readOnly
        configuration.traceMessages = traceMessages
        configuration.safety = device.safety
        configuration.record = record
        configuration.replaceRecord = force
        if let record { try PartialFile.prepareOutput(record, replaceExisting: force) }
        let server = try GuestDiskServer(configuration)
        // SIGINT/SIGTERM stop the session (draining what is in flight) and finish the recording.
        Interrupt.shared.onInterrupt { server.stop() }
        signal(SIGPIPE, SIG_IGN)
        let outcome = try server.serve { FileHandle.standardError.write(Data("vqtrace serve: \($0)\n".utf8)) }
        if let record, let totals = outcome.recorded {
            print("recorded \(record): \(totals.records) requests"
                  + (outcome.dropped > 0 || outcome.reordered > 0 ? " (\(outcome.dropped) dropped, \(outcome.reordered) placed late)" : ""))
            if !noCatalog { try catalog.registerAndSay(record) }
        }
        if case .protocolError(let why) = outcome.ending { throw VhostUserProtocolError("the front-end broke the vhost-user protocol: \(why)") }
    }
}
