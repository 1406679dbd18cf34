import Virtio

/// A back-end outside this process that serves a run's devices: a vhost-user-blk back-end
/// (`vqtrace serve`, qemu-storage-daemon, SPDK) the engine drives as a front-end. The engine then
/// runs only the vCPU drivers: their rings, buffers and eventfds are shared with the back-end,
/// which plays the IOThreads.
public protocol ExternalBackEnd: AnyObject {
    /// Why the back-end stopped serving (it closed the connection, said something unexpected),
    /// or nil while it serves. Asked every 20 ms while the run goes, on the thread that runs it.
    func failure() -> String?
    /// Ends the session once the drivers have stopped (the rings stop, the connection closes);
    /// returns what went wrong, if anything did.
    func detach() -> String?
}

/// How a run reaches an external back-end: the virtio features the front-end negotiated (the
/// devices' drivers use exactly those) and the call that shares the devices' memory, rings and
/// eventfds with it before the drivers start.
public struct ExternalBackEndAttachment: Sendable {
    public var features: VirtioFeatures
    public var attach: @Sendable ([VirtioBlkDevice]) throws -> any ExternalBackEnd
    /// What serves the requests, for the run's output and catalog row ("vhost-user:/run/x.sock").
    public var name: String
    /// Where the back-end's IOThread runs when vqtrace placed it (`serve` under a pin policy):
    /// the drivers then go beside it, as beside the engine's own IOThreads; empty when unknown.
    public var serviceCPUs: [Int] = []

    public init(name: String, features: VirtioFeatures, attach: @escaping @Sendable ([VirtioBlkDevice]) throws -> any ExternalBackEnd) {
        self.name = name
        self.features = features
        self.attach = attach
    }
}
