/// The median of measured values: the middle one, or the mean of the two middle ones when there
/// is an even number (taking the upper one of two pairs would report the better pair).
enum Median {
    static func of(_ values: [Double]) -> Double? {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
