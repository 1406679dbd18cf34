/// A job or layout the engine cannot run, saying why. (A system call that fails, an eventfd or
/// a thread, throws `SystemCallError`, which names the call and its errno.)
public enum EngineError: Error, CustomStringConvertible {
    case configuration(String)

    public var description: String {
        switch self {
        case .configuration(let what): return what
        }
    }
}
