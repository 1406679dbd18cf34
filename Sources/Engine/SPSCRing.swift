import Synchronization

/// A bounded single-producer single-consumer ring: one thread pushes, one pops, no locks.
/// `tail` is written by the producer only, `head` by the consumer only; the release store of
/// one and the acquire load by the other order the slot's contents.
///
/// Used where the engine hands data between threads off the hot path's locks: the recorder's
/// taps (IOThread → collector) and the replay feed (reader → vCPU driver).
public final class SPSCRing<Element>: @unchecked Sendable {
    @usableFromInline let slots: UnsafeMutablePointer<Element>
    public let capacity: Int
    @usableFromInline let head = Atomic<Int>(0)
    @usableFromInline let tail = Atomic<Int>(0)

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
    }

    deinit {
        let h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .relaxed)
        for i in h..<t { (slots + i % capacity).deinitialize(count: 1) }
        slots.deallocate()
    }

    /// Producer side: stores `element`, or returns false when the ring is full.
    @inlinable @inline(__always)
    public func push(_ element: Element) -> Bool {
        let t = tail.load(ordering: .relaxed)
        if t - head.load(ordering: .acquiring) == capacity { return false }
        (slots + t % capacity).initialize(to: element)
        tail.store(t + 1, ordering: .releasing)
        return true
    }

    /// Consumer side: the oldest element, or nil when the ring is empty.
    @inlinable @inline(__always)
    public func pop() -> Element? {
        let h = head.load(ordering: .relaxed)
        if tail.load(ordering: .acquiring) == h { return nil }
        let element = (slots + h % capacity).move()
        head.store(h + 1, ordering: .releasing)
        return element
    }

    /// Consumer side: hands every waiting element to `body`, oldest first.
    @inlinable
    public func drain(_ body: (Element) -> Void) {
        let h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .acquiring)
        for i in h..<t { body((slots + i % capacity).move()) }
        head.store(t, ordering: .releasing)
    }
}
