/// A problem with a .vqt file, located: which file, which part (header, chunk N, trailer), at
/// which byte offset, and what is wrong.
public struct TraceFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Part: Equatable, Sendable {
        case header
        case chunk(Int)
        case trailer
        case file
    }

    public var path: String
    public var part: Part
    public var offset: UInt64
    public var problem: String
    /// The system call that failed, when the problem is one (open, read).
    public var cause: SystemCallError?

    public init(path: String, part: Part, offset: UInt64, problem: String, cause: SystemCallError? = nil) {
        self.path = path
        self.part = part
        self.offset = offset
        self.problem = problem
        self.cause = cause
    }

    public var description: String {
        let whereText: String
        switch part {
        case .header: whereText = "header"
        case .chunk(let n): whereText = "chunk \(n)"
        case .trailer: whereText = "trailer"
        case .file: whereText = "file"
        }
        return "\(path): \(whereText) at byte \(offset): \(problem)"
    }
}

/// A record or call the writer refuses, naming the record (0-based, in append order) and field.
public enum TraceWriteError: Error, CustomStringConvertible, Equatable, Sendable {
    case timeWentBackwards(record: UInt64, previousNs: UInt64, submitNs: UInt64)
    case completionBeforeSubmit(record: UInt64, submitNs: UInt64, completionNs: UInt64)
    case unknownDevice(record: UInt64, device: UInt16, deviceCount: Int)
    case queueOutOfRange(record: UInt64, device: UInt16, vq: UInt16, numQueues: UInt16)
    case beyondCapacity(record: UInt64, sector: UInt64, length: UInt32, capacitySectors: UInt64)
    case noDevices
    case invalidDevice(index: Int, problem: String)
    case invalidOption(String)
    case finished
    /// A system call failed (write, fdatasync), naming the file and the call.
    case system(SystemCallError)
    case compression(String)
    /// The output file could not be started or published (exists, busy, a leftover).
    case output(PartialFileError)

    public var description: String {
        switch self {
        case .timeWentBackwards(let r, let p, let s):
            return "record \(r): submit time \(s) ns is before the previous record's \(p) ns (records must be appended in submit-time order)"
        case .completionBeforeSubmit(let r, let s, let c):
            return "record \(r): completion time \(c) ns is before its submit time \(s) ns"
        case .unknownDevice(let r, let d, let n):
            return "record \(r): device \(d) does not exist (the trace has \(n) device\(n == 1 ? "" : "s"))"
        case .queueOutOfRange(let r, let d, let vq, let q):
            return "record \(r): vq \(vq) of device \(d) is outside its \(q) queues"
        case .beyondCapacity(let r, let s, let l, let cap):
            return "record \(r): sector \(s) + \(l) bytes runs past the device capacity of \(cap) sectors"
        case .noDevices: return "a trace needs at least one device in its metadata"
        case .invalidDevice(let i, let what): return "device \(i): \(what)"
        case .invalidOption(let what): return what
        case .finished: return "the trace writer was already finished"
        case .system(let error): return error.description
        case .compression(let what): return "zstd: \(what)"
        case .output(let problem): return problem.description
        }
    }
}

import SystemSupport
