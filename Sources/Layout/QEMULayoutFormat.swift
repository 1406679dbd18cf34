/// QEMU's command-line form of a layout, both ways:
///
/// ```
/// -object iothread,id=iothread1,poll-max-ns=32768
/// -object iothread,id=iothread2
/// -blockdev '{"driver":"file","node-name":"file-vda","filename":"/path/to/vm-disk.img","aio":"native",…}'
/// -blockdev '{"driver":"raw","node-name":"drive-vda","file":"file-vda",…}'
/// -device '{"driver":"virtio-blk-pci","id":"vda","drive":"drive-vda","num-queues":4,
///           "iothread-vq-mapping":[{"iothread":"iothread1"},{"iothread":"iothread2"}]}'
/// ```
///
/// Accepted input: such a fragment (`-object` as keyval or JSON, `-device` as JSON or keyval
/// with `iothread=`; `-blockdev` and `-drive` lines are skipped), a bare `-device` JSON object,
/// or a bare mapping array. Lines starting with `#` are comments. Without `-object` lines
/// IOThread existence cannot be checked and the IOThreads are the ones the mapping names. QEMU has no option to pin an IOThread, so CPU
/// sets are emitted only as comments (pin with libvirt or taskset) and not read back.
public enum QEMULayoutFormat {
    public static func parse(_ text: String, numQueues: Int?) throws(LayoutError) -> IOThreadLayout {
        let body = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingCharacters(in: " ").hasPrefix("#") }
            .joined(separator: "\n")
        let trimmed = body.trimmingCharacters(in: " ").trimmingCharacters(in: "\n")
        if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") {
            let value = try JSONValue.parse(trimmed)
            let device = try parseDevice(value, index: 0, numQueues: numQueues, known: nil)
            return IOThreadLayout(iothreads: device.iothreads.map { IOThreadSpec(id: $0) }, devices: [device])
        }
        let words = try shellWords(body)
        var objects: [IOThreadSpec] = []
        var deviceValues: [JSONValue] = []
        var index = 0
        while index < words.count {
            let option = words[index]
            guard index + 1 < words.count else { throw .invalidSpec("\(option) needs a value") }
            let argument = words[index + 1]
            switch option {
            case "-object", "--object":
                if let spec = try parseObject(argument) {
                    if objects.contains(where: { $0.id == spec.id }) {
                        throw .invalidSpec("-object iothread id \"\(spec.id)\" is given twice")
                    }
                    objects.append(spec)
                }
            case "-device", "--device":
                deviceValues.append(argument.hasPrefix("{") ? try JSONValue.parse(argument) : keyvalDevice(argument))
            case "-blockdev", "--blockdev", "-drive", "--drive":
                // They name the disk, not the IOThreads: a pasted command line (or the report's
                // own snippet, which carries -blockdev) reads as its layout.
                break
            default:
                throw .invalidSpec("unexpected '\(option)': a QEMU layout holds -object iothread,…, -blockdev and -device lines")
            }
            index += 2
        }
        guard !deviceValues.isEmpty else { throw .invalidSpec("no -device with iothread or iothread-vq-mapping found") }
        let known = objects.isEmpty ? nil : Set(objects.map(\.id))
        var devices: [DeviceLayout] = []
        for (number, value) in deviceValues.enumerated() {
            devices.append(try parseDevice(value, index: number, numQueues: numQueues, known: known))
        }
        var iothreads = objects
        if iothreads.isEmpty {
            for device in devices { for id in device.iothreads where !iothreads.contains(where: { $0.id == id }) {
                iothreads.append(IOThreadSpec(id: id))
            } }
        }
        return IOThreadLayout(iothreads: iothreads, devices: devices)
    }

    static func parseObject(_ argument: String) throws(LayoutError) -> IOThreadSpec? {
        var fields: [String: String] = [:]
        var type: String
        if argument.hasPrefix("{") {
            let value = try JSONValue.parse(argument)
            guard case let .string(qomType)? = value["qom-type"] else { throw .invalidSpec("-object JSON needs \"qom-type\"") }
            type = qomType
            if case let .string(id)? = value["id"] { fields["id"] = id }
            if case let .number(poll)? = value["poll-max-ns"] { fields["poll-max-ns"] = String(Int64(poll)) }
        } else {
            let parts = argument.split(separator: ",").map(String.init)
            type = parts.first ?? ""
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { throw .invalidSpec("-object \(argument): '\(part)' is not key=value") }
                fields[pair[0]] = pair[1]
            }
            if type.hasPrefix("qom-type=") { type = String(type.dropFirst("qom-type=".count)) }
        }
        guard type == "iothread" else { return nil }
        guard let id = fields["id"], !id.isEmpty else { throw .invalidSpec("-object iothread needs id=") }
        var poll: UInt64? = nil
        if let text = fields["poll-max-ns"] {
            guard let value = UInt64(text) else { throw .invalidSpec("-object iothread,id=\(id): poll-max-ns '\(text)' is not a number") }
            poll = value
        }
        return IOThreadSpec(id: id, pollMaxNs: poll)
    }

    /// `virtio-blk-pci,id=vda,iothread=iothread1,num-queues=4` as a JSON object.
    static func keyvalDevice(_ argument: String) -> JSONValue {
        let parts = argument.split(separator: ",").map(String.init)
        var members: [(String, JSONValue)] = [("driver", .string(parts.first ?? ""))]
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if let number = Double(pair[1]), pair[0] == "num-queues" { members.append((pair[0], .number(number))) }
            else { members.append((pair[0], .string(pair[1]))) }
        }
        return .object(members)
    }

    static func parseDevice(_ value: JSONValue, index: Int, numQueues: Int?, known: Set<String>?) throws(LayoutError) -> DeviceLayout {
        var mappingValue: JSONValue
        var name = index == 0 ? "vda" : "vd\(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(min(index, 25)))))"
        var layoutQueues: Int? = nil
        var single: String? = nil
        switch value {
        case .array:
            mappingValue = value
        case .object:
            if case let .string(id)? = value["id"] { name = id }
            if let queues = value["num-queues"] {
                guard case let .number(n) = queues, n == n.rounded(), n >= 1, n <= 1024 else {
                    throw .invalidSpec("device \(name): num-queues must be an integer in 1...1024")
                }
                layoutQueues = Int(n)
            }
            if let iothread = value["iothread"] {
                guard case let .string(id) = iothread else { throw .invalidSpec("device \(name): iothread must be a string") }
                single = id
            }
            if let mapping = value["iothread-vq-mapping"] {
                if single != nil { throw .iothreadWithMapping }
                mappingValue = mapping
            } else if let single {
                mappingValue = .array([.object([("iothread", .string(single))])])
            } else {
                throw .invalidSpec("device \(name): neither iothread nor iothread-vq-mapping is set")
            }
        default:
            throw .invalidSpec("expected a -device JSON object or an iothread-vq-mapping array")
        }
        if let given = numQueues, let layoutQueues, given != layoutQueues {
            throw .numQueuesMismatch(given: given, layout: layoutQueues)
        }
        guard let queues = layoutQueues ?? numQueues else { throw .numQueuesRequired("qemu:… without \"num-queues\"") }
        guard case let .array(items) = mappingValue else { throw .invalidSpec("iothread-vq-mapping must be an array") }
        var entries: [QEMUMappingEntry] = []
        for (position, item) in items.enumerated() {
            guard case let .string(iothread)? = item["iothread"] else {
                throw .invalidSpec("iothread-vq-mapping[\(position)]: \"iothread\" (a string) is required")
            }
            var vqs: [Int]? = nil
            if let list = item["vqs"] {
                guard case let .array(numbers) = list else { throw .invalidSpec("iothread-vq-mapping[\(position)]: \"vqs\" must be an array") }
                vqs = []
                for number in numbers {
                    guard case let .number(n) = number, n == n.rounded(), n >= 0, n < 65536 else {
                        throw .invalidSpec("iothread-vq-mapping[\(position)]: vqs must hold integers in 0...65535")
                    }
                    vqs!.append(Int(n))
                }
            }
            entries.append(QEMUMappingEntry(iothread: iothread, vqs: vqs))
        }
        return try QEMUMappingValidator.resolve(device: name, entries: entries, numQueues: queues, knownIOThreads: known)
    }

    /// Splits a command line into words: whitespace separates, single and double quotes group,
    /// a backslash escapes the next character (so `\` + newline continues a line).
    static func shellWords(_ text: String) throws(LayoutError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character? = nil
        var escaped = false
        for character in text {
            if escaped {
                if character != "\n" { current.append(character); inWord = true }
                escaped = false
            } else if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\\" {
                escaped = true
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character == " " || character == "\n" || character == "\t" {
                if inWord { words.append(current); current = ""; inWord = false }
            } else {
                current.append(character)
                inWord = true
            }
        }
        if quote != nil { throw .invalidSpec("unterminated quote in the QEMU command line") }
        if inWord { words.append(current) }
        return words
    }

    /// The `-object`, `-blockdev` (with `disk`) and `-device` lines for `layout`, one per line,
    /// shell-quoted. With `disk` every device gets a protocol node (`file-NAME`) and a format node
    /// (`drive-NAME`, the name its `-device` gives as `drive`); without, the `-device` names a
    /// drive the user defines.
    public static func emit(_ layout: IOThreadLayout, disk: DiskBacking? = nil) -> String {
        var lines: [String] = []
        for thread in layout.iothreads {
            var line = "-object iothread,id=\(thread.id)"
            if let poll = thread.pollMaxNs { line += ",poll-max-ns=\(poll)" }
            lines.append(line)
        }
        for thread in layout.iothreads {
            if let cpus = thread.cpus {
                lines.append("# pin \(thread.id) to CPUs \(cpus) (QEMU has no option for it: use libvirt <iothreadpin> or taskset on the thread)")
            }
        }
        for (index, device) in layout.devices.enumerated() {
            if let disk = disk?.forDevice(device.name, index: index) {
                for node in blockdevJSON(device, disk: disk) { lines.append("-blockdev \(shellQuoted(node.serialized))") }
            }
            lines.append("-device \(shellQuoted(deviceJSON(device).serialized))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The node name of a device's disk: its `-device` `drive` and its format node's `node-name`.
    public static func driveNodeName(_ device: DeviceLayout) -> String { "drive-\(device.name)" }

    /// The two `-blockdev` nodes of a device's disk, the way libvirt builds them: the protocol
    /// node (file or host_device, with O_DIRECT and the aio mode) and the format node on top of it
    /// (raw or qcow2), named as the `-device` expects. `cache` goes on both, as each node opens
    /// its own file descriptor or cache.
    public static func blockdevJSON(_ device: DeviceLayout, disk: DiskBacking) -> [JSONValue] {
        let cache: JSONValue = .object([("direct", .bool(disk.cacheDirect)), ("no-flush", .bool(false))])
        let protocolNode = "file-\(device.name)"
        return [
            .object([("driver", .string(disk.kind.qemuDriver)), ("node-name", .string(protocolNode)), ("filename", .string(disk.path)),
                     ("aio", .string(disk.aio.rawValue)), ("cache", cache)]),
            .object([("driver", .string(disk.format.rawValue)), ("node-name", .string(driveNodeName(device))), ("file", .string(protocolNode)),
                     ("cache", cache)]),
        ]
    }

    /// `text` in single quotes for a POSIX shell (a quote inside becomes '\'').
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The `-device` JSON object; `iothread` for a one-IOThread device (works before QEMU 9.0),
    /// the mapping without `vqs` when it is round-robin, with `vqs` otherwise.
    public static func deviceJSON(_ device: DeviceLayout) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("driver", .string("virtio-blk-pci")), ("id", .string(device.name)), ("drive", .string(driveNodeName(device))),
            ("num-queues", .number(Double(device.numQueues))),
        ]
        if device.iothreads.count == 1 && device.isRoundRobin {
            members.append(("iothread", .string(device.iothreads[0])))
        } else if device.isRoundRobin {
            members.append(("iothread-vq-mapping", .array(device.iothreads.map { .object([("iothread", .string($0))]) })))
        } else {
            members.append(("iothread-vq-mapping", .array(device.iothreads.map { id in
                .object([("iothread", .string(id)), ("vqs", .array(device.vqs(of: id).map { .number(Double($0)) }))])
            })))
        }
        return .object(members)
    }
}
