/// An error the user fixes in the command line (a bad option, layout, name or output path), as
/// opposed to a failure while working: a program reports it as a usage mistake (the CLI exits 2).
public protocol UsageMistake: Error, CustomStringConvertible {
    var isUsageMistake: Bool { get }
}

/// The usage mistake inside `error`, if any: the error itself, or one carried inside it (an
/// argument parser wraps what a command's validation threw in its own error type, whose fields
/// are not public; reflection finds it), so that a mistake found in validation is reported as one
/// (exit 2) and not as a failure while working.
public func usageMistake(in error: any Error, depth: Int = 4) -> (any UsageMistake)? {
    if let mistake = error as? any UsageMistake { return mistake.isUsageMistake ? mistake : nil }
    guard depth > 0 else { return nil }
    for child in Mirror(reflecting: error).children {
        if let inner = child.value as? any Error, let found = usageMistake(in: inner, depth: depth - 1) { return found }
    }
    return nil
}
