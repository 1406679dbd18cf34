/// An error the user fixes in the command line (a bad option, layout, name or output path), as
/// opposed to a failure while working: a program reports it as a usage mistake (the CLI exits 2).
public protocol UsageMistake: Error, CustomStringConvertible {
    var isUsageMistake: Bool { get }
}
