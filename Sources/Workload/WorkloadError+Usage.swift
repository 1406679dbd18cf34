import Units

extension WorkloadError: UsageMistake {
    /// A model's parameters are always the user's numbers.
    public var isUsageMistake: Bool { true }
}
