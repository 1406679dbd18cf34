import Units

/// An input that does not open is a mistake in the command line (exit 2), like a missing trace
/// for replay; a bad line is a failure of the work (exit 1).
extension ImportError: UsageMistake {
    public var isUsageMistake: Bool { isUsage }
}
