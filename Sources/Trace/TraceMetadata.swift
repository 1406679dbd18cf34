import Foundation

/// What a trace says about itself, stored as JSON in the file header: the devices it addresses,
/// where its requests came from, when and on which host it was made.
public struct TraceMetadata: Codable, Equatable, Sendable {
    /// One virtio-blk device of the trace. Record `device` fields index this array.
    public struct Device: Codable, Equatable, Sendable {
        public var name: String
        /// Capacity in 512-byte sectors (virtio-blk `capacity`).
        public var capacitySectors: UInt64
        /// `blk_size`: the logical block size the guest sees.
        public var logicalBlockSize: UInt32
        public var numQueues: UInt16
        public var queueSize: UInt16

        public init(name: String = "vda", capacitySectors: UInt64, logicalBlockSize: UInt32 = 512, numQueues: UInt16, queueSize: UInt16 = 256) {
            self.name = name
            self.capacitySectors = capacitySectors
            self.logicalBlockSize = logicalBlockSize
            self.numQueues = numQueues
            self.queueSize = queueSize
        }
    }

    /// Where the requests came from.
    public struct Source: Codable, Equatable, Sendable {
        /// `synthetic` (a workload model), `import` (another trace format), `guest` (a real guest
        /// through vhost-user), or `benchmark`.
        public var kind: String
        /// The model, the import format or the guest description.
        public var name: String
        /// Model parameters, import file names, …: enough to make the trace again.
        public var parameters: [String: String]

        public init(kind: String, name: String, parameters: [String: String] = [:]) {
            self.kind = kind
            self.name = name
            self.parameters = parameters
        }
    }

    /// The machine the trace was made on.
    public struct Host: Codable, Equatable, Sendable {
        public var hostname: String
        public var kernel: String
        public var cpuModel: String
        public var onlineCPUs: Int

        public init(hostname: String, kernel: String, cpuModel: String, onlineCPUs: Int) {
            self.hostname = hostname
            self.kernel = kernel
            self.cpuModel = cpuModel
            self.onlineCPUs = onlineCPUs
        }

        /// Reads the current machine's facts from uname and /proc/cpuinfo.
        public static func current() -> Host {
            var info = utsname()
            uname(&info)
            func field<T>(_ value: T) -> String {
                withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            }
            let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
            return Host(
                hostname: field(info.nodename), kernel: field(info.release), cpuModel: model,
                onlineCPUs: ProcessInfo.processInfo.activeProcessorCount)
        }
    }

    public var devices: [Device]
    public var source: Source
    /// ISO 8601, UTC.
    public var createdAt: String
    public var host: Host

    /// When the trace was made, or nil for generated traces, which store the epoch instead of a
    /// wall-clock time so that the same seed gives the same bytes.
    public var creationTime: String? { createdAt.hasPrefix("1970-01-01T00:00:00") ? nil : createdAt }

    public init(devices: [Device], source: Source, createdAt: Date = Date(), host: Host = .current()) {
        self.devices = devices
        self.source = source
        self.createdAt = ISO8601DateFormatter().string(from: createdAt)
        self.host = host
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> TraceMetadata {
        try JSONDecoder().decode(TraceMetadata.self, from: Data(bytes))
    }
}
