/// The next deadline of each of a driver thread's vqs, earliest first: an indexed binary min-heap
/// over member numbers 0..<capacity, each present at most once. Setting a member's deadline
/// again moves it; nothing is allocated after `init`, so the driver thread's loop never allocates.
struct DeadlineQueue: ~Copyable {
    /// Heap order: member numbers.
    private let heap: UnsafeMutablePointer<Int>
    /// Where each member sits in `heap`, or -1 when it has no deadline.
    private let position: UnsafeMutablePointer<Int>
    private let deadline: UnsafeMutablePointer<UInt64>
    let capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        heap = .allocate(capacity: capacity)
        position = .allocate(capacity: capacity)
        position.initialize(repeating: -1, count: capacity)
        deadline = .allocate(capacity: capacity)
        deadline.initialize(repeating: 0, count: capacity)
    }

    deinit {
        heap.deallocate()
        position.deallocate()
        deadline.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// The member with the earliest deadline, and that deadline.
    var earliest: (member: Int, deadlineNs: UInt64)? {
        count == 0 ? nil : (heap[0], deadline[heap[0]])
    }

    /// The member's deadline, or nil when it has none.
    func deadline(of member: Int) -> UInt64? { position[member] < 0 ? nil : deadline[member] }

    /// Gives `member` the deadline `ns` (adding it, or moving it when it had one).
    mutating func set(_ member: Int, _ ns: UInt64) {
        precondition(member >= 0 && member < capacity, "deadline queue member out of range")
        if position[member] < 0 {
            heap[count] = member
            position[member] = count
            count += 1
            deadline[member] = ns
            siftUp(count - 1)
        } else {
            let old = deadline[member]
            deadline[member] = ns
            if ns < old { siftUp(position[member]) } else { siftDown(position[member]) }
        }
    }

    /// Takes `member`'s deadline away (nothing when it had none).
    mutating func remove(_ member: Int) {
        let i = position[member]
        guard i >= 0 else { return }
        count -= 1
        position[member] = -1
        guard i != count else { return }
        heap[i] = heap[count]
        position[heap[i]] = i
        siftDown(i)
        siftUp(i)
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if deadline[heap[parent]] <= deadline[heap[i]] { break }
            swap(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1
            guard left < count else { return }
            var smallest = left
            if left + 1 < count && deadline[heap[left + 1]] < deadline[heap[left]] { smallest = left + 1 }
            if deadline[heap[i]] <= deadline[heap[smallest]] { return }
            swap(i, smallest)
            i = smallest
        }
    }

    private mutating func swap(_ a: Int, _ b: Int) {
        let x = heap[a]
        heap[a] = heap[b]
        heap[b] = x
        position[heap[a]] = a
        position[heap[b]] = b
    }
}
