import CLinuxShim
import Synchronization
import SystemSupport
import Virtio

/// Device-side state of one virtqueue: the ring, its ioeventfd (kick) and irqfd (call), and
/// per-head storage for the requests in flight. Touched only by the IOThread serving it.
public final class VirtqueueEndpoint: @unchecked Sendable {
    public unowned let device: VirtioBlkDevice
    public let index: Int
    public let ring: SplitVirtqueueDevice
    private let kick: OwnedDescriptor
    private let call: OwnedDescriptor
    /// The driver writes here to kick (QEMU's ioeventfd). Closed with the endpoint.
    public var kickFD: Int32 { kick.rawValue }
    /// The device writes here to interrupt the driver (QEMU's irqfd). Closed with the endpoint.
    public var callFD: Int32 { call.rawValue }
    let chainStorage: UnsafeMutableBufferPointer<ChainSegment>
    /// Q × seg_max IOSegments: head h uses [h·seg_max, (h+1)·seg_max).
    let segments: UnsafeMutablePointer<IOSegment>
    let requests: UnsafeMutablePointer<BlockRequest>
    // Touched only by the IOThread serving the queue, once per request: no runtime exclusivity check.
    /// Set when a pass completed requests and the used ring needs publishing.
    @exclusivity(unchecked) var dirty = false
    /// When the driver last kicked, and when the device last interrupted the driver
    /// (CLOCK_MONOTONIC ns): the other side reads them when it wakes, to measure how long a
    /// notification took to wake it. Relaxed: a figure, not a handshake (the eventfd is that).
    let lastKickNs = Atomic<UInt64>(0)
    let lastCallNs = Atomic<UInt64>(0)

    /// - Parameters:
    ///   - kickFD, callFD: eventfds the endpoint takes ownership of (a vhost-user front-end's);
    ///     nil makes its own.
    init(device: VirtioBlkDevice, index: Int, ring: SplitVirtqueueDevice, segMax: Int, kickFD: Int32? = nil, callFD: Int32? = nil) throws {
        self.device = device
        self.index = index
        self.ring = ring
        let what = "making the kick and call eventfds of \(device.config.name) vq \(index)"
        // Owned from here on: a failure of the second closes the first.
        kick = try OwnedDescriptor(checking: kickFD ?? linux_eventfd(0, linux_EFD_CLOEXEC | linux_EFD_NONBLOCK), call: "eventfd", operation: what)
        call = try OwnedDescriptor(checking: callFD ?? linux_eventfd(0, linux_EFD_CLOEXEC), call: "eventfd", operation: what)
        chainStorage = .allocate(capacity: ring.size + 2)
        segments = .allocate(capacity: ring.size * segMax)
        requests = .allocate(capacity: ring.size)
    }

    deinit {
        chainStorage.deallocate()
        segments.deallocate()
        requests.deallocate()
    }
}
