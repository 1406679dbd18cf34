/// A binary min-heap: the earliest of a set of timed things, for the code that walks request
/// streams in time order (the workload models' event queue, the replay's recorded in-flight
/// completions). Array-backed, so it allocates only when it grows past its largest size so far.
///
/// `@inlinable`, so that callers in other modules get it specialized for their element type: the
/// replay calls it once per request on a vCPU driver thread.
public struct MinHeap<Element: Comparable> {
    @usableFromInline var storage: [Element] = []

    @inlinable public init() {}

    @inlinable public var count: Int { storage.count }
    @inlinable public var isEmpty: Bool { storage.isEmpty }
    /// The smallest element, or nil when empty.
    @inlinable public var min: Element? { storage.first }

    @inlinable public mutating func push(_ element: Element) {
        storage.append(element)
        var i = storage.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if storage[parent] <= storage[i] { break }
            storage.swapAt(parent, i)
            i = parent
        }
    }

    /// Removes and returns the smallest element, or nil when empty.
    @inlinable @discardableResult public mutating func popMin() -> Element? {
        guard let last = storage.popLast() else { return nil }
        guard !storage.isEmpty else { return last }
        let top = storage[0]
        storage[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < storage.count && storage[l] < storage[m] { m = l }
            if r < storage.count && storage[r] < storage[m] { m = r }
            if m == i { break }
            storage.swapAt(m, i)
            i = m
        }
        return top
    }
}

extension MinHeap: Sendable where Element: Sendable {}
