/// A bad value for a setting, the one error every library throws for it: which option, which
/// value, what is wrong, and for a misspelled named choice the nearest valid one. The option is
/// the name the caller gave (the CLI passes its flag, a program its own name for the setting), so
/// libraries need not know the command line. A usage mistake: the CLI exits 2.
public struct OptionError: UsageMistake, Equatable {
    public var option: String
    public var value: String
    public var problem: String
    /// The valid choice the value most likely meant, when it looks like a misspelling.
    public var suggestion: String?

    public init(option: String, value: String, problem: String, suggestion: String? = nil) {
        self.option = option
        self.value = value
        self.problem = problem
        self.suggestion = suggestion
    }

    public var isUsageMistake: Bool { true }

    public var description: String {
        "\(option) '\(value)': \(problem)" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
    }

    /// `value` is not one of `choices`: the error lists them and suggests the nearest.
    public static func notAChoice(option: String, value: String, choices: [String]) -> OptionError {
        OptionError(option: option, value: value, problem: "must be one of \(choices.joined(separator: ", "))",
                    suggestion: nearest(value, in: choices))
    }

    /// The choice nearest `value` (case-insensitive edit distance), when it is close enough to
    /// be a misspelling of it: at most a third of the longer word's letters off, and at least
    /// one letter in common with it; or a choice that `value` is a prefix of.
    public static func nearest(_ value: String, in choices: [String]) -> String? {
        let word = Array(value.lowercased())
        guard !word.isEmpty else { return nil }
        if let prefixed = choices.first(where: { $0.lowercased().hasPrefix(value.lowercased()) }) { return prefixed }
        var best: (choice: String, distance: Int)?
        for choice in choices {
            let candidate = Array(choice.lowercased())
            let distance = editDistance(word, candidate)
            guard distance <= max(1, max(word.count, candidate.count) / 3), distance < max(word.count, candidate.count) else { continue }
            if best == nil || distance < best!.distance { best = (choice, distance) }
        }
        return best?.choice
    }

    /// Damerau-Levenshtein (optimal string alignment) distance: swapped neighbours cost 1.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}

/// A named choice of a library (a backend, a timing mode, a workload): parsed from its name with
/// an `OptionError` that lists the names and suggests the nearest.
public protocol NamedChoice: CaseIterable, RawRepresentable where RawValue == String {}

extension NamedChoice {
    /// The names, in declaration order.
    public static var names: [String] { allCases.map(\.rawValue) }

    /// The choice named `text`, or an error naming `option`, the value and the valid names.
    public static func parse(_ text: String, option: String) throws(OptionError) -> Self {
        if let named = Self(rawValue: text) { return named }
        throw OptionError.notAChoice(option: option, value: text, choices: names)
    }
}

extension OptionError {
    /// An argument parser's message for a value that is not one of an option's choices ("The
    /// value 'opne' is invalid for '--timing <timing>'. Please provide one of 'open', … or
    /// 'afap'.", or the choices as "  - name" lines), with "Did you mean 'open'?" added after the
    /// error when one of the choices is near the value; any other message unchanged.
    public static func suggesting(in message: String) -> String {
        guard let valueStart = message.range(of: "The value '")?.upperBound,
              let valueEnd = message[valueStart...].range(of: "' is invalid for")?.lowerBound,
              let listStart = message.range(of: "Please provide one of")?.upperBound
        else { return message }
        let value = String(message[valueStart..<valueEnd])
        let rest = message[listStart...]
        let listText = rest.range(of: "\nUsage:").map { rest[..<$0.lowerBound] } ?? rest
        var choices: [String] = []
        if listText.hasPrefix(" the following:") {
            choices = listText.split(separator: "\n").compactMap { $0.hasPrefix("  - ") ? String($0.dropFirst(4)) : nil }
        } else {
            choices = listText.split(separator: "'", omittingEmptySubsequences: false).enumerated().compactMap { $0.offset % 2 == 1 ? String($0.element) : nil }
        }
        guard let near = nearest(value, in: choices) else { return message }
        let insertAt = message.range(of: "\nUsage:")?.lowerBound ?? message.endIndex
        var out = message
        out.insert(contentsOf: "\nDid you mean '\(near)'?", at: insertAt)
        return out
    }
}
