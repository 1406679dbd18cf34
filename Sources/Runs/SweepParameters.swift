import Foundation

/// What a sweep sets out to run, as its catalog row keeps it (`parametersJSON`): the plan a
/// report checks the runs against, and the options that repeat it.
public struct SweepParameters: Codable, Sendable, Equatable {
    /// The layouts, in the order the sweep runs them (nil in rows of demo sweeps that did not
    /// store them).
    public var layouts: [String]?
    public var repeats: Int
    public var vms: [Int]?
    public var queueDepth: Int?
    public var backend: String?
    public var timing: String?
    public var target: String?
    public var speed: Double?
    /// Set by the demo.
    public var demo: Bool?
    /// The command that started the sweep, shell-quoted (nil in rows of older sweeps and of
    /// sweeps a program started).
    public var commandLine: String?
    /// The back-ends every layout ran on ("engine", "qsd", "serve", "vhost-user SOCKET"); nil
    /// for the engine alone.
    public var backEnds: [String]?

    enum CodingKeys: String, CodingKey {
        case layouts, vms, backend, timing, target, speed, demo
        case backEnds = "back_ends"
        case repeats = "repeat", queueDepth = "qd", commandLine = "command_line"
    }

    public init(layouts: [String]?, repeats: Int, vms: [Int]? = [1], queueDepth: Int? = nil, backend: String? = nil, timing: String? = nil,
                target: String? = nil, speed: Double? = nil, demo: Bool? = nil, commandLine: String? = nil, backEnds: [String]? = nil) {
        self.backEnds = backEnds
        self.layouts = layouts
        self.repeats = repeats
        self.vms = vms
        self.queueDepth = queueDepth
        self.backend = backend
        self.timing = timing
        self.target = target
        self.speed = speed
        self.demo = demo
        self.commandLine = commandLine
    }

    public func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public static func decode(_ json: String) throws -> SweepParameters {
        try JSONDecoder().decode(SweepParameters.self, from: Data(json.utf8))
    }
}
