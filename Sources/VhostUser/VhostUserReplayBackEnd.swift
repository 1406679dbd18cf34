import BlockBackend
import Engine
import Foundation
import Layout
import Trace
#if canImport(Glibc)
import Glibc
#endif

/// Where a replay's requests go when not to the engine's own IOThreads: a vhost-user-blk
/// back-end that is already listening, or a qemu-storage-daemon vqtrace starts on the target.
public enum VhostUserBackEndChoice: Sendable, Equatable {
    /// Connect to this socket (`vqtrace serve`, qemu-storage-daemon, SPDK's vhost target).
    case socket(String)
    /// Start qemu-storage-daemon on the target with the layout as its IOThreads, then connect.
    case qemuStorageDaemon
    /// Start `vqtrace serve` in this process on the target with the layout, then connect: the
    /// engine behind a real vhost-user session, what the front-end and the protocol cost.
    case serve

    /// The short name a sweep's configuration label and a bench's column carry: qsd, serve, or
    /// vhost-user SOCKET.
    public var label: String {
        switch self {
        case .socket(let path): "vhost-user \(path)"
        case .qemuStorageDaemon: "qsd"
        case .serve: "serve"
        }
    }

    /// The label of a back-end as a run row stores it (`VhostUserReplayBackEnd.name`): qsd,
    /// serve, or vhost-user SOCKET; nil for the engine's own backends (io_uring, threads, null).
    public static func label(ofStored backend: String) -> String? {
        if backend.hasPrefix("qemu-storage-daemon") { return "qsd" }
        if backend.hasPrefix(InProcessServe.namePrefix) { return "serve" }
        if backend.hasPrefix("vhost-user ") { return backend }
        return nil
    }

    /// Whether vqtrace starts this back-end on the target (qsd, serve): the target is then
    /// prepared, like the engine's, before it starts.
    public var servesTarget: Bool { if case .socket = self { false } else { true } }

    /// Parses one word of a `--back-ends` list: `engine` (nil: the in-process engine), `serve`,
    /// `qsd`, or `vhost-user:SOCKET`.
    public static func parse(_ word: String) throws(VhostUserFrontEndError) -> VhostUserBackEndChoice? {
        switch word {
        case "engine": return nil
        case "serve": return .serve
        case "qsd": return .qemuStorageDaemon
        default:
            if word.hasPrefix("vhost-user:") {
                guard word.count > "vhost-user:".count else { throw VhostUserFrontEndError("--back-ends: vhost-user: needs the socket's path (vhost-user:/run/vhost.sock)", isUsage: true) }
                return .socket(String(word.dropFirst("vhost-user:".count)))
            }
            throw VhostUserFrontEndError("--back-ends: \(word) is not a back-end: engine (vqtrace's own IOThreads), serve (vqtrace serve in this process, over vhost-user), qsd (qemu-storage-daemon over vhost-user) or vhost-user:SOCKET", isUsage: true)
        }
    }

    /// Parses a comma-separated `--back-ends` list; each back-end once.
    public static func parseList(_ text: String) throws(VhostUserFrontEndError) -> [VhostUserBackEndChoice?] {
        let words = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !words.isEmpty else { throw VhostUserFrontEndError("--back-ends names no back-end", isUsage: true) }
        var choices: [VhostUserBackEndChoice?] = []
        for word in words {
            let choice = try parse(word)
            if choices.contains(choice) { throw VhostUserFrontEndError("--back-ends names \(word) twice; name each back-end once", isUsage: true) }
            choices.append(choice)
        }
        return choices
    }
}

/// A replay's external back-end, connected and checked against the trace: what the engine
/// attaches its devices to. Owns the qemu-storage-daemon it started, if any, and stops it.
public final class VhostUserReplayBackEnd: ExternalBackEnd, @unchecked Sendable {
    public let frontEnd: VhostUserFrontEnd
    /// The back-end as runs store it: "vhost-user /run/x.sock" or qemu-storage-daemon's version
    /// and command line.
    public let name: String
    private let daemon: QemuStorageDaemon?
    private let served: InProcessServe?

    /// Connects to `choice` (starting qemu-storage-daemon on `target` for `.qemuStorageDaemon`),
    /// and refuses, as a usage mistake, a trace that does not fit the back-end's device: more
    /// than one device or copy, more vqs than it serves, a capacity above its own.
    public init(_ choice: VhostUserBackEndChoice, trace metadata: TraceMetadata, copies: Int, layout: IOThreadLayout,
                target: String?, writable: Bool, safety: DeviceSafety = DeviceSafety(), pin: PinPolicy = .none,
                scratch: String = NSTemporaryDirectory()) throws(VhostUserFrontEndError) {
        guard metadata.devices.count == 1, copies == 1, let device = metadata.devices.first else {
            throw VhostUserFrontEndError("a vhost-user back-end serves one device; the trace has \(metadata.devices.count) and --vms asks for \(copies) copies", isUsage: true)
        }
        switch choice {
        case .socket(let path):
            (daemon, served) = (nil, nil)
            frontEnd = try VhostUserFrontEnd(socketPath: path)
            name = "vhost-user \(path)"
        case .qemuStorageDaemon:
            guard let target else { throw VhostUserFrontEndError("--backend qsd needs --target FILE: qemu-storage-daemon serves that file", isUsage: true) }
            let started = try QemuStorageDaemon(target: target, numQueues: Int(device.numQueues), layout: layout, writable: writable, scratch: scratch)
            do {
                frontEnd = try VhostUserFrontEnd(socketPath: started.socketPath, connectTimeout: 10)
            } catch {
                started.stop()
                throw VhostUserFrontEndError("\(error.description); qemu-storage-daemon said: \(started.errorOutput())")
            }
            (daemon, served) = (started, nil)
            name = "\(started.version): \(started.commandLine)"
        case .serve:
            guard let target else { throw VhostUserFrontEndError("the serve back-end needs --target FILE: it serves that file", isUsage: true) }
            let started = try InProcessServe(target: target, numQueues: Int(device.numQueues), layout: layout, writable: writable,
                                             safety: safety, pin: pin, scratch: scratch)
            guard started.waitListening() else {
                started.stop()
                throw VhostUserFrontEndError("vqtrace serve \(started.exitDescription() ?? "did not listen within 10 s"): \(started.lastLine())")
            }
            do {
                frontEnd = try VhostUserFrontEnd(socketPath: started.socketPath, connectTimeout: 10)
            } catch {
                started.stop()
                throw error
            }
            (daemon, served) = (nil, started)
            name = "\(InProcessServe.namePrefix): \(started.commandLine)"
        }
        let info = frontEnd.device
        func refuse(_ why: String) throws(VhostUserFrontEndError) -> Never {
            daemon?.stop()
            served?.stop()
            throw VhostUserFrontEndError(why, isUsage: true)
        }
        if Int(device.numQueues) > info.numQueues {
            try refuse("the replayed device \(device.name) has \(device.numQueues) vqs; the back-end serves \(info.numQueues) (its num-queues)")
        }
        if device.capacitySectors > info.capacitySectors {
            try refuse("the replayed device \(device.name) holds \(device.capacitySectors) sectors (\((device.capacitySectors * 512) >> 20) MiB); the back-end's device holds \(info.capacitySectors) (\((info.capacitySectors * 512) >> 20) MiB): a trace (or a bench --size) larger than the back-end's device is refused")
        }
    }

    /// Connects to a back-end someone else started (a socket) and checks that the replay fits
    /// it, then hangs up: what a sweep or bench asks before it prepares anything. vqtrace's own
    /// back-ends (qsd, serve) serve the prepared target and are not probed.
    public static func probe(_ choice: VhostUserBackEndChoice, trace metadata: TraceMetadata, copies: Int, layout: IOThreadLayout) throws(VhostUserFrontEndError) {
        guard case .socket = choice else { return }
        let probe = try VhostUserReplayBackEnd(choice, trace: metadata, copies: copies, layout: layout, target: nil, writable: false)
        _ = probe.detach()
    }

    /// What the engine's run needs: the negotiated features and the attach call.
    public var attachment: ExternalBackEndAttachment {
        var attachment = ExternalBackEndAttachment(name: name, features: frontEnd.negotiatedFeatures) { [self] devices in
            guard let first = devices.first else { throw VhostUserFrontEndError("no device to attach") }
            try frontEnd.attach(first)
            return self
        }
        attachment.serviceCPUs = served?.firstIOThreadCPUs ?? []
        return attachment
    }

    /// The qemu-storage-daemon this back-end started, if it did.
    public var daemonPID: Int32? { daemon?.pid }

    public func failure() -> String? {
        if let daemon, let exit = daemon.exitDescription() { return "qemu-storage-daemon \(exit) mid-run: \(daemon.errorOutput())" }
        if let served, let exit = served.exitDescription() { return "vqtrace serve \(exit) mid-run: \(served.lastLine())" }
        return frontEnd.failure()
    }

    public func detach() -> String? {
        let problem = frontEnd.detach()
        daemon?.stop()
        served?.stop()
        return problem
    }

    deinit {
        daemon?.stop()
        served?.stop()
    }
}

/// qemu-storage-daemon serving a file as a vhost-user-blk export, the layout as its IOThreads.
/// QEMU 7.2's export runs in one IOThread (its `iothread` option names one), so only a
/// one-IOThread layout can be expressed; other layouts are refused rather than measured as
/// something else.
public final class QemuStorageDaemon: @unchecked Sendable {
    let socketPath: String
    let commandLine: String
    let version: String
    private let process = Process()
    private let errors: Pipe
    private let directory: String
    private var stopped = false

    /// The arguments for `target` under `layout` (`vqtrace mapping show --format qsd` prints them).
    static func arguments(target: String, numQueues: Int, layout: IOThreadLayout, writable: Bool, socket: String) throws(VhostUserFrontEndError) -> [String] {
        guard layout.iothreads.count == 1, let iothread = layout.iothreads.first else {
            throw VhostUserFrontEndError("qemu-storage-daemon \(versionNumber()) runs a vhost-user-blk export in one IOThread (the export's iothread option names one; QEMU 7.2 has no iothread-vq-mapping for exports), so a layout of \(layout.iothreads.count) IOThreads cannot be expressed: use layout single for qsd, or a back-end that can (replay --vhost-user SOCKET; bench and sweep --back-ends vhost-user:SOCKET)", isUsage: true)
        }
        // aio=io_uring submits as the engine's io_uring backend does, so the two compare like for
        // like (measured here, 1 GiB file, 4 KiB randread QD32: aio=native reached 0.80–0.92× the
        // engine, aio=io_uring 0.95–1.02×).
        return ["--object", "iothread,id=\(iothread.id)",
                "--blockdev", "driver=file,node-name=file0,filename=\(target),cache.direct=on,aio=io_uring",
                "--blockdev", "driver=raw,node-name=disk0,file=file0",
                "--export", "type=vhost-user-blk,id=exp0,addr.type=unix,addr.path=\(socket),node-name=disk0,writable=\(writable ? "on" : "off"),num-queues=\(numQueues),iothread=\(iothread.id)"]
    }

    static let executable = "/usr/bin/qemu-storage-daemon"
    static let setpriv = "/usr/bin/setpriv"

    /// The command line that serves `layout`'s first device from `target` on `socket`, as
    /// `vqtrace mapping show --format qsd` prints it; a layout qsd cannot express is refused.
    public static func commandLine(for layout: IOThreadLayout, target: String = "DISK.img", socket: String = "/run/vqtrace-vhost.sock") throws(VhostUserFrontEndError) -> String {
        let numQueues = layout.devices.first?.numQueues ?? 1
        let arguments = try arguments(target: target, numQueues: numQueues, layout: layout, writable: true, socket: socket)
        // One option and its value per line, quoted for a shell.
        return ([executable] + stride(from: 0, to: arguments.count, by: 2).map { "\(arguments[$0]) '\(arguments[$0 + 1])'" }).joined(separator: " \\\n  ") + "\n"
    }

    init(target: String, numQueues: Int, layout: IOThreadLayout, writable: Bool, scratch: String) throws(VhostUserFrontEndError) {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw VhostUserFrontEndError("--backend qsd needs \(Self.executable) (Debian: apt-get install qemu-system-x86 or qemu-utils)", isUsage: true)
        }
        (directory, socketPath) = try SocketFolder.make(kind: "qsd", in: scratch, owner: "qemu-storage-daemon")
        let arguments = try Self.arguments(target: target, numQueues: numQueues, layout: layout, writable: writable, socket: socketPath)
        commandLine = ([Self.executable] + arguments).joined(separator: " ")
        version = Self.versionLine()
        // Through util-linux's setpriv (Debian: always installed), the daemon gets SIGKILL when
        // vqtrace dies without stopping it (SIGKILL, a crash): no daemon outlives its replay.
        if FileManager.default.isExecutableFile(atPath: Self.setpriv) {
            process.executableURL = URL(fileURLWithPath: Self.setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", Self.executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Self.executable)
            process.arguments = arguments
        }
        errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        do { try process.run() } catch { throw VhostUserFrontEndError("cannot start \(commandLine): \(error.localizedDescription)") }
    }

    /// "7.2.22", from its --version.
    static func versionNumber() -> String {
        let words = versionLine().split(separator: " ")
        return words.firstIndex(of: "version").flatMap { $0 + 1 < words.count ? String(words[$0 + 1]) : nil } ?? ""
    }

    /// "qemu-storage-daemon version 7.2.22 (…)", the first line of its --version.
    static func versionLine() -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["--version"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "qemu-storage-daemon" }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.split(separator: "\n").first.map(String.init) ?? "qemu-storage-daemon"
    }

    var pid: Int32 { process.processIdentifier }

    /// How the daemon ended, or nil while it runs.
    func exitDescription() -> String? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .uncaughtSignal ? "was killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
    }

    /// What it wrote on stderr (read once it has ended), its last line.
    func errorOutput() -> String {
        guard !process.isRunning else { return "(still running)" }
        let text = String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
        return text.split(separator: "\n").last.map(String.init) ?? "nothing"
    }

    /// SIGTERM, then SIGKILL after 1 s (a child of a process that blocks SIGTERM, as vqtrace
    /// does to stop cleanly, inherits the block; by now nothing is in flight), and removes the
    /// socket's folder.
    func stop() {
        guard !stopped else { return }
        stopped = true
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(1)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
