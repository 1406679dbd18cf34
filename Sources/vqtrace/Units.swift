import ArgumentParser
import Units

// Sizes and lengths of time as options: parsed by the Units module, checked with a message
// that names the option (a usage error, exit 2).
extension ByteSize: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }

    func check(_ option: String, atLeast: UInt64 = 1, multipleOf: UInt64 = 1, atMost: UInt64 = 1 << 60) throws {
        if let problem = problem(option, atLeast: atLeast, multipleOf: multipleOf, atMost: atMost) { throw ValidationError(problem) }
    }
}

extension TimeLength: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }

    @discardableResult
    func check(_ option: String, allowZero: Bool = false) throws -> TimeLength {
        if let problem = problem(option, allowZero: allowZero) { throw ValidationError(problem) }
        return self
    }
}

/// The CLI's name for a length of time (it shadows the standard library's, which no command uses).
typealias Duration = TimeLength

/// The help of every `--force`.
let forceHelp: ArgumentHelp = "Replace the output file if it exists (a catalogued trace replaced this way gets a new catalog id; runs of the old one keep their results)."
