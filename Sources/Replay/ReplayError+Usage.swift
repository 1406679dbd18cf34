import Units

extension ReplayError: UsageMistake {
    public var isUsageMistake: Bool { isUsage }
}
