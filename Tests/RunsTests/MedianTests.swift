import Testing
@testable import Benchmarks

/// A median of interleaved pairs or rounds: the middle value, or the mean of the two middle
/// ones, so that an even count does not report the better half.
@Suite struct MedianTests {
    @Test("odd counts take the middle value, even counts the mean of the two middle ones, none has none")
    func median() {
        #expect(Median.of([]) == nil)
        #expect(Median.of([0.7]) == 0.7)
        #expect(Median.of([1.051, 0.706]) == (0.706 + 1.051) / 2)
        #expect(Median.of([3, 1, 2]) == 2)
        #expect(Median.of([4, 1, 3, 2]) == 2.5)
    }

    @Test("whatever the values, the median lies between the smallest and the largest, and is order-free",
          arguments: 1...40)
    func bounded(count: Int) {
        var generator = SystemRandomNumberGenerator()
        let values = (0..<count).map { _ in Double.random(in: -1e6...1e6, using: &generator) }
        let m = Median.of(values)!
        #expect(m >= values.min()! && m <= values.max()!)
        #expect(Median.of(values.shuffled(using: &generator)) == m)
        // As many values lie on each side of it.
        #expect(values.filter { $0 < m }.count == values.filter { $0 > m }.count)
    }
}
