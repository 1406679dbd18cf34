import Synchronization

/// A flag one thread raises and many read.
public final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    public init() {}
    public func raise() { raised.store(true, ordering: .releasing) }
    @inline(__always) public var isRaised: Bool { raised.load(ordering: .acquiring) }
}
