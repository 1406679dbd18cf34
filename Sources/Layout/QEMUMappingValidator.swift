/// One entry of QEMU's `iothread-vq-mapping`: an IOThread and, optionally, its vqs.
public struct QEMUMappingEntry: Sendable, Hashable {
    public var iothread: String
    /// nil (or empty: QEMU treats an empty list as absent) means round-robin.
    public var vqs: [Int]?
    public init(iothread: String, vqs: [Int]? = nil) {
        self.iothread = iothread
        self.vqs = vqs
    }
}

/// QEMU's validation of `iothread-vq-mapping` (hw/virtio/iothread-vq-mapping.c), rule for
/// rule and in QEMU's order, producing the vq → IOThread assignment.
public enum QEMUMappingValidator {
    /// - Parameters:
    ///   - knownIOThreads: the `-object iothread` ids; nil when none were given (not checked).
    public static func resolve(device: String, entries: [QEMUMappingEntry], numQueues: Int,
                               knownIOThreads: Set<String>?) throws(LayoutError) -> DeviceLayout {
        guard (1...1024).contains(numQueues) else { throw .invalidNumQueues(numQueues) }
        guard let first = entries.first else { throw .emptyMapping }
        var seen = Set<String>()
        var assigned = [String?](repeating: nil, count: numQueues)
        let explicit = !(first.vqs ?? []).isEmpty
        for (index, entry) in entries.enumerated() {
            if let known = knownIOThreads, !known.contains(entry.iothread) { throw .unknownIOThread(entry.iothread) }
            guard seen.insert(entry.iothread).inserted else { throw .duplicateIOThread(entry.iothread) }
            let hasVQs = !(entry.vqs ?? []).isEmpty
            if index > 0 && hasVQs != explicit { throw .vqsInSomeEntries }
            for vq in entry.vqs ?? [] {
                guard vq >= 0, vq < numQueues else {
                    throw .vqOutOfRange(vq: vq, iothread: entry.iothread, numQueues: numQueues)
                }
                guard assigned[vq] == nil else { throw .vqAssignedTwice(vq: vq, iothread: entry.iothread) }
                assigned[vq] = entry.iothread
            }
        }
        let names = entries.map(\.iothread)
        if !explicit { return .roundRobin(name: device, iothreads: names, numQueues: numQueues) }
        var assignment: [String] = []
        for vq in 0..<numQueues {
            guard let id = assigned[vq] else { throw .missingVQ(vq) }
            assignment.append(id)
        }
        return DeviceLayout(name: device, iothreads: names, assignment: assignment)
    }
}
