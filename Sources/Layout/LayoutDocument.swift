import Foundation

/// A layout as JSON: `vqtrace mapping show --format json`, and the resolved layout a stored run
/// keeps (so that a report can tell what ran even when the trace file is gone).
public struct LayoutDocument: Codable, Sendable, Equatable {
    public struct Thread: Codable, Sendable, Equatable {
        public var id: String
        public var cpus: [Int]?
        public var pollMaxNs: Int?
        enum CodingKeys: String, CodingKey { case id, cpus, pollMaxNs = "poll_max_ns" }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            pollMaxNs = try c.decodeIfPresent(Int.self, forKey: .pollMaxNs)
            // Runs stored before this type kept the CPU set as text ("2-3").
            if let list = try? c.decodeIfPresent([Int].self, forKey: .cpus) {
                cpus = list
            } else {
                cpus = (try c.decodeIfPresent(String.self, forKey: .cpus)).flatMap { try? CPUSet(parsing: $0).cpus }
            }
        }

        init(id: String, cpus: [Int]?, pollMaxNs: Int?) {
            self.id = id
            self.cpus = cpus
            self.pollMaxNs = pollMaxNs
        }
    }

    public struct Device: Codable, Sendable, Equatable {
        public var name: String
        /// `assignment[vq]` is the IOThread serving vq.
        public var assignment: [String]
        public var iothreads: [String]?
        public var roundRobin: Bool?
        public var numQueues: Int { assignment.count }
        enum CodingKeys: String, CodingKey { case name, assignment, iothreads, roundRobin = "round_robin" }
    }

    public var iothreads: [Thread]
    public var devices: [Device]
    /// The same layout as QEMU options and libvirt XML (for people reading the JSON).
    public var qemu: String?
    public var libvirt: String?

    public init(_ layout: IOThreadLayout, withSyntax: Bool = false) {
        iothreads = layout.iothreads.map { Thread(id: $0.id, cpus: $0.cpus?.cpus, pollMaxNs: $0.pollMaxNs.map { Int($0) }) }
        devices = layout.devices.map { Device(name: $0.name, assignment: $0.assignment, iothreads: $0.iothreads, roundRobin: $0.isRoundRobin) }
        qemu = withSyntax ? QEMULayoutFormat.emit(layout) : nil
        libvirt = withSyntax ? LibvirtLayoutFormat.emit(layout) : nil
    }

    /// Compact JSON with sorted keys, as a catalog column keeps it.
    public func encoded(pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension IOThreadLayout {
    /// The vq → IOThread → CPU table `vqtrace mapping check` prints.
    public var table: String {
        let rows = self.rows
        let deviceWidth = max(6, rows.map(\.device.count).max() ?? 0)
        let threadWidth = max(8, rows.map(\.iothread.count).max() ?? 0)
        func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var out = padded("device", deviceWidth) + "  vq  " + padded("iothread", threadWidth) + "  cpus\n"
        for row in rows {
            let vq = String(row.vq)
            out += padded(row.device, deviceWidth) + "  " + String(repeating: " ", count: max(0, 2 - vq.count)) + vq + "  "
                + padded(row.iothread, threadWidth) + "  " + (row.cpus?.description ?? "any") + "\n"
        }
        let summary = devices.map { "\($0.name): \($0.numQueues) vqs" }.joined(separator: ", ")
        return out + "\(iothreads.count) IOThread\(iothreads.count == 1 ? "" : "s"); \(summary)\n"
    }
}
