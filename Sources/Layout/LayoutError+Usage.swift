import Units

extension LayoutError: UsageMistake {
    /// A layout is always the user's words.
    public var isUsageMistake: Bool { true }
}
