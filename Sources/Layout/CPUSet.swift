/// A set of host CPUs in the kernel's list syntax ("2-3,6"), as libvirt's `cpuset` and
/// taskset's `-c` use it.
public struct CPUSet: Sendable, Hashable, CustomStringConvertible {
    /// Sorted, unique CPU numbers.
    public let cpus: [Int]

    public init(_ cpus: [Int]) {
        self.cpus = Array(Set(cpus)).sorted()
    }

    /// Parses "0-3,8,10-11"; rejects empty items, reversed ranges and negative numbers.
    public init(parsing text: String) throws(LayoutError) {
        var result: [Int] = []
        let trimmed = text.trimmingCharacters(in: " ")
        guard !trimmed.isEmpty else { throw .invalidCPUSet(text, "it is empty") }
        for item in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                  let low = Int(bounds[0].trimmingCharacters(in: " ")), low >= 0,
                  let high = Int(bounds[bounds.count - 1].trimmingCharacters(in: " ")), high >= low, high < 8192
            else {
                throw .invalidCPUSet(text, "'\(item)' is not a CPU number or a range like 2-5")
            }
            result.append(contentsOf: low...high)
        }
        self.init(result)
    }

    /// The shortest list syntax: consecutive CPUs collapse into ranges.
    public var description: String {
        var parts: [String] = []
        var index = 0
        while index < cpus.count {
            var end = index
            while end + 1 < cpus.count && cpus[end + 1] == cpus[end] + 1 { end += 1 }
            parts.append(end == index ? "\(cpus[index])" : "\(cpus[index])-\(cpus[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }
}

extension StringProtocol {
    func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice.removeFirst() }
        while slice.last == character { slice.removeLast() }
        return String(slice)
    }
}
