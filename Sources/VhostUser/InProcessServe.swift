import BlockBackend
import Foundation
import Engine
import Layout

/// `vqtrace serve` run inside this process, on a socket of its own, for a replay to connect to:
/// the engine's IOThreads behind a real vhost-user session (messages, shared memory, eventfds),
/// so that a sweep or a bench can measure what the front-end and the protocol cost against the
/// in-process engine without a second program to start.
final class InProcessServe: @unchecked Sendable {  // fields set before the thread starts, then read after it ends
    /// How runs name this back-end: "vqtrace serve (in-process): COMMAND".
    static let namePrefix = "vqtrace serve (in-process)"
    let socketPath: String
    let commandLine: String
    private let server: GuestDiskServer
    private let directory: String
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var ending: String?
    private var lastLog = ""
    private var stopped = false

    /// Where its first IOThread runs under `pin` (as the engine's planner places it), for the
    /// drivers to go beside; empty when the scheduler decides.
    let firstIOThreadCPUs: [Int]

    /// Starts serving `target` (its own size) under `layout`, its IOThreads placed by `pin`, on a
    /// new socket in `scratch`.
    init(target: String, numQueues: Int, layout: IOThreadLayout, writable: Bool, safety: DeviceSafety, pin: PinPolicy, scratch: String) throws(VhostUserFrontEndError) {
        (directory, socketPath) = try SocketFolder.make(kind: "serve", in: scratch, owner: "vqtrace serve")
        var configuration = GuestDiskServer.Configuration(socket: socketPath, target: target, numQueues: numQueues, layout: "single")
        configuration.parsedLayout = layout
        configuration.readOnly = !writable
        configuration.safety = safety
        configuration.pin = pin
        firstIOThreadCPUs = pin.firstIOThreadCPUs(layoutCPUs: layout.iothreads.first?.cpus)
        let threads = layout.iothreads.count
        commandLine = "vqtrace serve --socket \(socketPath) --target \(target) --num-queues \(numQueues)\(writable ? "" : " --read-only"), \(threads) IOThread\(threads == 1 ? "" : "s")"
        do { server = try GuestDiskServer(configuration) } catch {
            throw VhostUserFrontEndError("cannot start serve: \(error)")
        }
        let thread = Thread { [self] in
            let outcome: String
            do {
                let served = try server.serve { [self] line in lock.withLock { lastLog = line } }
                if case .protocolError(let why) = served.ending { outcome = "broke off the session: \(why)" } else { outcome = "ended" }
            } catch {
                outcome = "failed: \(error)"
            }
            lock.withLock { ending = outcome }
            finished.signal()
        }
        thread.name = "vqtrace-serve"
        thread.start()
    }

    /// Waits until the socket listens (true) or serving has ended (false: it refused the target).
    func waitListening(timeout: Double = 10) -> Bool {
        let until = Date().addingTimeInterval(timeout)
        while Date() < until {
            if FileManager.default.fileExists(atPath: socketPath) { return true }
            if exitDescription() != nil { return false }
            usleep(2_000)
        }
        return false
    }

    /// How serving ended, or nil while it serves.
    func exitDescription() -> String? { lock.withLock { ending } }

    /// The last line serve logged.
    func lastLine() -> String { lock.withLock { lastLog } }

    /// Stops serving (the session drains what is in flight) and waits for it, then removes the
    /// socket's folder.
    func stop() {
        guard !stopped else { return }
        stopped = true
        server.stop()
        finished.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}
