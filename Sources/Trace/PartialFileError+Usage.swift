import Units

extension PartialFileError: UsageMistake {
    /// A name that is taken, a leftover to deal with, or a folder that cannot be made are the
    /// user's to change; a busy file or a failing system call are not.
    public var isUsageMistake: Bool {
        switch self {
        case .exists, .leftover, .noFolder: return true
        case .busy, .system: return false
        }
    }
}
