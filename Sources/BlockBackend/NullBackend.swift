/// Completes every request at once without I/O: the engine's own cost (QEMU's null-co).
public final class NullBackend: BlockBackend {
    // Used only by its IOThread, per request: no runtime exclusivity checks.
    @exclusivity(unchecked) private var completed: UnsafeMutablePointer<(Int, Int32)>
    @exclusivity(unchecked) private var count = 0
    @exclusivity(unchecked) private var submitted = 0
    private let capacity: Int

    public init(slots: Int) {
        capacity = slots
        completed = .allocate(capacity: slots)
    }

    deinit { completed.deallocate() }

    @inline(__always) public func submit(slot: Int, _ io: BlockIO) {
        precondition(count < capacity, "more requests than slots")
        let result: Int32 = io.operation == .read || io.operation == .write ? Int32(truncatingIfNeeded: io.length) : 0
        completed[count] = (slot, result)
        count += 1
        submitted += 1
    }

    public func submitPending() {}

    public func reap(_ body: (Int, Int32) -> Void) -> Int {
        let n = count
        for i in 0..<n { body(completed[i].0, completed[i].1) }
        count = 0
        submitted -= n
        return n
    }

    public var hasCompletions: Bool { count > 0 }
    public var completionFD: Int32 { -1 }
    public func clearCompletionSignal() {}
    public var inFlight: Int { submitted }
}
