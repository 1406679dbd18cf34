import Units

extension CatalogError: UsageMistake {
    /// A trace reference that names nothing, or several traces, is the user's to fix; the
    /// catalog's own failures are not.
    public var isUsageMistake: Bool {
        switch self {
        case .notFound, .ambiguous: return true
        default: return false
        }
    }
}
