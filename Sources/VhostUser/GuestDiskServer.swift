import BlockBackend
import CLinuxShim
import Engine
import Foundation
import Layout
import Replay
import Trace
import Units

/// A disk served to one QEMU guest over vhost-user-blk by the engine's IOThreads, optionally
/// recording every request the guest submits: what `vqtrace serve` runs.
///
/// The target is the guest's disk: it is never filled or marked, and disk-image containers
/// (qcow2, VMDK, …) are refused, since the guest would see their headers as its disk.
public final class GuestDiskServer: @unchecked Sendable {
    /// What to serve and how.
    public struct Configuration: Sendable {
        public var socket: String
        public var target: String
        /// The disk's size for a file (nil: the file's own size).
        public var sizeBytes: UInt64?
        public var numQueues: Int
        public var layout: String
        /// The layout already parsed (an in-process serve gets its replay's); used instead of `layout`.
        public var parsedLayout: IOThreadLayout?
        public var backend: BackendKind = .ioUring
        public var pin: PinPolicy = .none
        public var readOnly = false
        public var traceMessages = false
        public var safety = DeviceSafety()
        /// Record the guest's requests into this trace (kept as NAME.partial if the server dies).
        public var record: String?
        public var replaceRecord = false

        public init(socket: String, target: String, sizeBytes: UInt64? = nil, numQueues: Int, layout: String) {
            self.socket = socket
            self.target = target
            self.sizeBytes = sizeBytes
            self.numQueues = numQueues
            self.layout = layout
        }
    }

    /// How serving ended.
    public struct Outcome: Sendable {
        public var ending: VhostUserServer.Outcome
        public var requestsServed: UInt64
        public var sessions: Int
        /// The recording's totals, and the records the taps dropped or placed late.
        public var recorded: TraceTotals?
        public var dropped: UInt64 = 0
        public var reordered: UInt64 = 0
    }

    public let configuration: Configuration
    private let stopFD: Int32

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        stopFD = linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK)
        if stopFD < 0 { throw GuestDiskError("eventfd: \(String(cString: strerror(errno)))") }
    }

    deinit { close(stopFD) }

    /// Asks `serve` to stop (from any thread, a signal handler's queue included): the session
    /// drains what is in flight and the recording is finished.
    public func stop() { _ = linux_eventfd_write(stopFD, 1) }

    /// Serves one guest until it disconnects or `stop()`; `log` hears what happens.
    public func serve(log: @escaping (String) -> Void) throws -> Outcome {
        let c = configuration
        let layout = try c.parsedLayout ?? LayoutSpec.parse(c.layout, numQueues: c.numQueues)
        var info = stat()
        let exists = stat(c.target, &info) == 0
        let isDevice = exists && info.st_mode & S_IFMT == S_IFBLK
        guard let bytes = c.sizeBytes ?? (isDevice ? UInt64(0) : (exists ? UInt64(info.st_size) : nil)), isDevice || bytes > 0 else {
            throw GuestDiskError("\(c.target) does not exist or is empty: give its size with --size")
        }
        if exists, let container = DeviceSafety.imageContainer(ofPath: c.target) {
            throw GuestDiskError("\(c.target) is a \(container), and vqtrace serve serves raw disks only: convert it (qemu-img convert -O raw \(c.target) disk.raw) "
                                         + "and serve the copy, or serve the image with qemu-storage-daemon")
        }
        let target = try BlockTarget(path: c.target, size: bytes, writes: !c.readOnly, safety: c.safety)
        let capacity = target.size / 512

        var recording: (writer: TraceWriter, sink: RecordingSink)?
        var taps: [RecorderTap]?
        if let record = c.record {
            let metadata = TraceMetadata(
                devices: [.init(name: "vda", capacitySectors: capacity, numQueues: UInt16(c.numQueues))],
                source: .init(kind: "vhost-user", name: "guest", parameters: ["socket": c.socket, "layout": c.layout, "backend": c.backend.rawValue, "target": c.target]))
            // A guest's recording is kept as RECORD.partial if serve dies unfinished: its
            // completed chunks can be recovered (vqtrace traces repair).
            let writer = try TraceWriter(path: record, metadata: metadata, options: .init(fsync: .chunk, replaceExisting: c.replaceRecord, keepUnfinished: true))
            let sink = RecordingSink.writing(to: writer)
            taps = layout.iothreads.map { _ in sink.makeTap() }
            sink.start()
            recording = (writer, sink)
        }

        var options = VhostUserBlkOptions(numQueues: c.numQueues, capacitySectors: capacity)
        options.readOnly = c.readOnly
        let backend = c.backend, pin = c.pin
        let vhost = VhostUserBlkBackend(options: options, log: log) { served in
            try EngineSession(devices: [served], layout: layout, backend: backend, target: target, pin: pin, taps: taps)
        }
        let server = try VhostUserServer(socketPath: c.socket)
        log("listening on \(c.socket): \(TextFormat.bytes(capacity * 512)) on \(c.target), \(c.numQueues) vq\(c.numQueues == 1 ? "" : "s"), "
            + "layout \(c.layout), \(c.backend.rawValue)" + (c.record.map { ", recording into \($0)" } ?? ""))
        let ending = server.serveOne(backend: vhost, stopFD: stopFD, traceMessages: c.traceMessages, log: log)
        log("\(ending == .stopped ? "stopped" : "done"): \(vhost.requestsServed) requests served in \(vhost.sessionsStarted) session\(vhost.sessionsStarted == 1 ? "" : "s")")
        var outcome = Outcome(ending: ending, requestsServed: vhost.requestsServed, sessions: vhost.sessionsStarted)
        if let recording {
            recording.sink.finish()
            if let error = recording.sink.error { throw error }
            outcome.recorded = try recording.writer.finish()
            outcome.dropped = recording.sink.dropped
            outcome.reordered = recording.sink.reordered
        }
        return outcome
    }
}

/// Why a guest's disk cannot be served (the target, not the protocol).
public struct GuestDiskError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
