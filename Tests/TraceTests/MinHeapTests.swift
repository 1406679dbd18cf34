import Testing
import TestSupport
import Trace

@Suite("MinHeap")
struct MinHeapTests {
    @Test("pops come out in sorted order under random pushes and pops, duplicates included", arguments: [1, 2, 3, 4] as [UInt64])
    func matchesSortedModel(seed: UInt64) {
        var rng = SplitMix64(state: seed)
        var heap = MinHeap<UInt64>()
        var model: [UInt64] = []
        for _ in 0..<5000 {
            if model.isEmpty || rng.next() % 3 != 0 {
                let value = rng.next() % 200  // a small range, so that equal keys occur often
                heap.push(value)
                model.append(value)
            } else {
                model.sort()
                #expect(heap.min == model.first)
                #expect(heap.popMin() == model.removeFirst())
            }
            #expect(heap.count == model.count)
        }
        model.sort()
        var drained: [UInt64] = []
        while let value = heap.popMin() { drained.append(value) }
        #expect(drained == model)
        #expect(heap.isEmpty && heap.min == nil && heap.popMin() == nil)
    }
}
