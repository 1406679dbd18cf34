/// Writes a set of queues the way people read them: "vq0-7", "vq0,2,5", "dev1.vq0-3".
public enum QueueSetText {
    public static func format<S: Sequence>(_ queues: S) -> String where S.Element == QueueKey {
        let sorted = Set(queues).sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            let device = sorted[i].device
            var ranges: [String] = []
            while i < sorted.count && sorted[i].device == device {
                var j = i
                while j + 1 < sorted.count && sorted[j + 1].device == device && sorted[j + 1].vq == sorted[j].vq + 1 { j += 1 }
                ranges.append(j == i ? "\(sorted[i].vq)" : "\(sorted[i].vq)-\(sorted[j].vq)")
                i = j + 1
            }
            parts.append((device == 0 ? "vq" : "dev\(device).vq") + ranges.joined(separator: ","))
        }
        return parts.joined(separator: " ")
    }
}
