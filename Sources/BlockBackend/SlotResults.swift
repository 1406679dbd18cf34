/// A fixed-capacity list of (slot, result) pairs, preallocated so that the submit and reap
/// paths never allocate. A slot is in flight at most once, so a capacity of one entry per slot
/// cannot overflow (asserted).
struct SlotResults: ~Copyable {
    private let slots: UnsafeMutablePointer<Int32>
    private let results: UnsafeMutablePointer<Int32>
    let capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        slots = .allocate(capacity: self.capacity)
        results = .allocate(capacity: self.capacity)
    }

    deinit {
        slots.deallocate()
        results.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(slot: Int, result: Int32) {
        precondition(count < capacity, "more pending results than slots")
        slots[count] = Int32(truncatingIfNeeded: slot)
        results[count] = result
        count += 1
    }

    subscript(i: Int) -> (slot: Int, result: Int32) { (Int(slots[i]), results[i]) }

    mutating func removeAll() { count = 0 }
}
