/// The words of a command line, before an argument parser sees them.
public enum CommandLineWords {
    /// `--qd -1` as `--qd=-1`: ArgumentParser reads a word that starts with "-" as an option and
    /// would answer "Missing value", where the user needs to hear that -1 is out of range. No
    /// vqtrace option is a dash and a digit, so such a word can only be a value.
    public static func valuesMayBeNegative(_ arguments: [String]) -> [String] {
        var out: [String] = []
        for argument in arguments {
            if let option = out.last, option.hasPrefix("--"), !option.contains("="), argument.count > 1, argument.hasPrefix("-"),
               let second = argument.dropFirst().first, second.isNumber || second == "." {
                out[out.count - 1] = option + "=" + argument
            } else {
                out.append(argument)
            }
        }
        return out
    }
}
