/// Why a layout was refused. QEMU's and libvirt's own rules keep their wording, so a user who
/// pastes vqtrace's layout into QEMU meets the same message in both places.
public enum LayoutError: Error, Equatable, Sendable, CustomStringConvertible {
    // QEMU iothread-vq-mapping rules, in the order QEMU checks them.
    case unknownIOThread(String)
    case duplicateIOThread(String)
    case vqsInSomeEntries
    case vqOutOfRange(vq: Int, iothread: String, numQueues: Int)
    case vqAssignedTwice(vq: Int, iothread: String)
    case missingVQ(Int)
    case iothreadWithMapping
    case emptyMapping
    // libvirt rules.
    case libvirtQueuesRequired(disk: String)
    case libvirtQueueOutOfRange(disk: String, queue: Int, queues: Int)
    case libvirtQueueTwice(disk: String, queue: Int)
    case libvirtQueueMissing(disk: String, queue: Int)
    case libvirtIOThreadNotDefined(disk: String, id: Int)
    case libvirtIOThreadAttributeWithElement(disk: String)
    case libvirtDuplicateIOThreadID(Int)
    // Input shape.
    case invalidSpec(String)
    case invalidCPUSet(String, String)
    case numQueuesMismatch(given: Int, layout: Int)
    case numQueuesRequired(String)
    case invalidNumQueues(Int)
    case malformedJSON(line: Int, column: Int, String)
    case malformedXML(line: Int, column: Int, String)
    case unexpected(where: String, String)
    case file(path: String, String)

    public var description: String {
        switch self {
        case let .unknownIOThread(name): return "IOThread \"\(name)\" object does not exist"
        case let .duplicateIOThread(name): return "duplicate IOThread name \"\(name)\" in iothread-vq-mapping"
        case .vqsInSomeEntries:
            return "either all items in iothread-vq-mapping must have vqs or none of them must have it"
        case let .vqOutOfRange(vq, iothread, numQueues):
            return "vq index \(vq) for IOThread \"\(iothread)\" must be less than num_queues \(numQueues) in iothread-vq-mapping"
        case let .vqAssignedTwice(vq, iothread):
            return "cannot assign vq \(vq) to IOThread \"\(iothread)\" because it is already assigned"
        case let .missingVQ(vq): return "missing vq \(vq) IOThread assignment in iothread-vq-mapping"
        case .iothreadWithMapping: return "iothread and iothread-vq-mapping properties cannot be set at the same time"
        case .emptyMapping: return "iothread-vq-mapping must list at least one IOThread"
        case let .libvirtQueuesRequired(disk):
            return "disk '\(disk)': the 'queues' attribute of <driver> is required when <iothread> elements list <queue>s"
        case let .libvirtQueueOutOfRange(disk, queue, queues):
            return "disk '\(disk)': queue id '\(queue)' is out of range, the disk has \(queues) queues"
        case let .libvirtQueueTwice(disk, queue):
            return "disk '\(disk)': queue '\(queue)' is mapped to more than one iothread"
        case let .libvirtQueueMissing(disk, queue):
            return "disk '\(disk)': missing iothread mapping for queue '\(queue)'"
        case let .libvirtIOThreadNotDefined(disk, id):
            return "disk '\(disk)': iothread id '\(id)' is not defined in <iothreadids>"
        case let .libvirtIOThreadAttributeWithElement(disk):
            return "disk '\(disk)': the 'iothread' attribute of <driver> cannot be combined with an <iothreads> element"
        case let .libvirtDuplicateIOThreadID(id): return "iothread id '\(id)' is defined more than once in <iothreadids>"
        case let .invalidSpec(why): return why
        case let .invalidCPUSet(text, why): return "invalid CPU set '\(text)': \(why)"
        case let .numQueuesMismatch(given, layout):
            // Said of the device, not of a flag: the count comes from --num-queues in `mapping`
            // and `serve`, and from the trace in `replay` and `sweep`.
            return "the layout is for num-queues \(layout), but the device has \(given) virtqueues"
        case let .numQueuesRequired(spec): return "layout '\(spec)' needs --num-queues"
        case let .invalidNumQueues(n): return "num-queues \(n) must be in 1...1024"
        case let .malformedJSON(line, column, why): return "malformed JSON at line \(line), column \(column): \(why)"
        case let .malformedXML(line, column, why): return "malformed XML at line \(line), column \(column): \(why)"
        case let .unexpected(place, why): return "\(place): \(why)"
        case let .file(path, why): return "\(path): \(why)"
        }
    }
}
