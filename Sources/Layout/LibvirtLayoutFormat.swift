/// libvirt's domain XML form of a layout (libvirt 10.0+), both ways:
///
/// ```xml
/// <domain type='kvm'>
///   <iothreads>2</iothreads>
///   <iothreadids><iothread id='1'/><iothread id='2'><poll max='32768'/></iothread></iothreadids>
///   <cputune><iothreadpin iothread='1' cpuset='2-3'/></cputune>
///   <devices>
///     <disk type='file' device='disk'>
///       <driver name='qemu' type='raw' cache='none' io='native' queues='4'>
///         <iothreads><iothread id='1'><queue id='0'/><queue id='2'/></iothread>…</iothreads>
///       </driver>
///       <target dev='vda' bus='virtio'/>
///     </disk>
///   </devices>
/// </domain>
/// ```
///
/// libvirt IOThread `id='N'` is QEMU object "iothreadN" (libvirt's own naming). Disks without
/// an IOThread are left out (the main loop serves them).
public enum LibvirtLayoutFormat {
    public static func parse(_ text: String, numQueues: Int?) throws(LayoutError) -> IOThreadLayout {
        let root = try XMLElement.parse(text)
        guard root.name == "domain" else {
            throw .unexpected(where: "line \(root.line)", "expected a <domain> element, found <\(root.name)>")
        }
        // IOThreads: <iothreadids> when present, else 1...<iothreads>.
        var ids: [Int] = []
        var polls: [Int: UInt64] = [:]
        if let list = root.child("iothreadids") {
            for element in list.children("iothread") {
                let id = try integer(element, "id", minimum: 1)
                guard !ids.contains(id) else { throw .libvirtDuplicateIOThreadID(id) }
                ids.append(id)
                if let poll = element.child("poll"), poll.attributes["max"] != nil {
                    polls[id] = UInt64(try integer(poll, "max", minimum: 0))
                }
            }
        } else if let count = root.child("iothreads") {
            guard let n = Int(count.text.trimmingCharacters(in: " ").trimmingCharacters(in: "\n")), n >= 0, n <= 1024 else {
                throw .unexpected(where: "line \(count.line)", "<iothreads> must hold a count in 0...1024")
            }
            ids = n > 0 ? Array(1...n) : []
        }
        var pins: [Int: CPUSet] = [:]
        for pin in root.child("cputune")?.children("iothreadpin") ?? [] {
            let id = try integer(pin, "iothread", minimum: 1)
            guard ids.contains(id) else {
                throw .unexpected(where: "line \(pin.line)", "<iothreadpin iothread='\(id)'> names an iothread not in <iothreadids>")
            }
            guard let cpuset = pin.attributes["cpuset"] else {
                throw .unexpected(where: "line \(pin.line)", "<iothreadpin> needs a cpuset attribute")
            }
            pins[id] = try CPUSet(parsing: cpuset)
        }
        let iothreads = ids.map { IOThreadSpec(id: "iothread\($0)", cpus: pins[$0], pollMaxNs: polls[$0]) }

        var devices: [DeviceLayout] = []
        for disk in root.child("devices")?.children("disk") ?? [] {
            guard let driver = disk.child("driver") else { continue }
            let target = disk.child("target")
            if let bus = target?.attributes["bus"], bus != "virtio" { continue }
            let name = target?.attributes["dev"] ?? "disk\(devices.count)"
            let queuesAttribute = try driver.attributes["queues"].map { _ throws(LayoutError) in try integer(driver, "queues", minimum: 1) }
            if let given = numQueues, let queuesAttribute, given != queuesAttribute {
                throw .numQueuesMismatch(given: given, layout: queuesAttribute)
            }
            let mapping = driver.child("iothreads")
            if let attribute = driver.attributes["iothread"] {
                if mapping != nil { throw .libvirtIOThreadAttributeWithElement(disk: name) }
                let id = Int(attribute) ?? -1
                guard ids.contains(id) else { throw .libvirtIOThreadNotDefined(disk: name, id: id) }
                let queues = queuesAttribute ?? numQueues ?? 1
                devices.append(.roundRobin(name: name, iothreads: ["iothread\(id)"], numQueues: queues))
                continue
            }
            guard let mapping else { continue }
            var order: [String] = []
            var queuesOf: [(String, [Int])] = []
            for element in mapping.children("iothread") {
                let id = try integer(element, "id", minimum: 1)
                guard ids.contains(id) else { throw .libvirtIOThreadNotDefined(disk: name, id: id) }
                let queueIDs = try element.children("queue").map { queue throws(LayoutError) in try integer(queue, "id", minimum: 0) }
                order.append("iothread\(id)")
                queuesOf.append(("iothread\(id)", queueIDs))
            }
            guard !order.isEmpty else {
                throw .unexpected(where: "line \(mapping.line)", "disk '\(name)': <iothreads> lists no <iothread>")
            }
            if let repeated = order.first(where: { id in order.filter { $0 == id }.count > 1 }) {
                throw .duplicateIOThread(repeated)
            }
            let explicit = queuesOf.contains { !$0.1.isEmpty }
            if !explicit {
                let queues = queuesAttribute ?? numQueues ?? 1
                devices.append(.roundRobin(name: name, iothreads: order, numQueues: queues))
                continue
            }
            guard let queues = queuesAttribute else { throw .libvirtQueuesRequired(disk: name) }
            var assignment = [String?](repeating: nil, count: queues)
            for (id, queueIDs) in queuesOf {
                if queueIDs.isEmpty { throw .vqsInSomeEntries }
                for queue in queueIDs {
                    guard queue < queues else { throw .libvirtQueueOutOfRange(disk: name, queue: queue, queues: queues) }
                    guard assignment[queue] == nil else { throw .libvirtQueueTwice(disk: name, queue: queue) }
                    assignment[queue] = id
                }
            }
            var resolved: [String] = []
            for queue in 0..<queues {
                guard let id = assignment[queue] else { throw .libvirtQueueMissing(disk: name, queue: queue) }
                resolved.append(id)
            }
            devices.append(DeviceLayout(name: name, iothreads: order, assignment: resolved))
        }
        guard !devices.isEmpty else {
            throw .invalidSpec("the domain has no virtio <disk> whose <driver> names an iothread")
        }
        return IOThreadLayout(iothreads: iothreads, devices: devices)
    }

    private static func integer(_ element: XMLElement, _ attribute: String, minimum: Int) throws(LayoutError) -> Int {
        guard let text = element.attributes[attribute] else {
            throw .unexpected(where: "line \(element.line)", "<\(element.name)> needs a '\(attribute)' attribute")
        }
        guard let value = Int(text), value >= minimum else {
            throw .unexpected(where: "line \(element.line)", "<\(element.name) \(attribute)='\(text)'> must be an integer ≥ \(minimum)")
        }
        return value
    }

    /// libvirt's number for an IOThread id: N for "iothreadN", else its position + 1.
    static func number(of id: String, in layout: IOThreadLayout) -> Int {
        if id.hasPrefix("iothread"), let n = Int(id.dropFirst("iothread".count)), n >= 1 { return n }
        return (layout.iothreads.firstIndex { $0.id == id } ?? 0) + 1
    }

    /// A domain XML skeleton holding the layout: merge `<iothreads>`, `<iothreadids>`,
    /// `<cputune>` into your domain and each `<driver>` into the matching virtio `<disk>`. With
    /// `disk`, each `<disk>` is whole: its type, `<source>`, and the driver's format, cache and io.
    /// With `pinPlaceholder`, an IOThread without CPUs still gets an `<iothreadpin>`, its cpuset
    /// the placeholder for its libvirt number: a value libvirt rejects until a person replaces it,
    /// rather than a real-looking CPU number that fits some other host.
    public static func emit(_ layout: IOThreadLayout, disk: DiskBacking? = nil, pinPlaceholder: ((Int) -> String)? = nil) -> String {
        var out = "<domain type='kvm'>\n"
        out += disk == nil
            ? "  <!-- merge into your domain: IOThreads, their pinning, and each virtio disk's <driver> -->\n"
            : "  <!-- merge into your domain: IOThreads, their pinning, and each virtio <disk> whole -->\n"
        out += "  <iothreads>\(layout.iothreads.count)</iothreads>\n"
        out += "  <iothreadids>\n"
        for thread in layout.iothreads {
            let n = number(of: thread.id, in: layout)
            if let poll = thread.pollMaxNs {
                out += "    <iothread id='\(n)'>\n      <poll max='\(poll)'/>\n    </iothread>\n"
            } else {
                out += "    <iothread id='\(n)'/>\n"
            }
        }
        out += "  </iothreadids>\n"
        let pins: [(Int, String)] = layout.iothreads.compactMap { thread in
            let n = number(of: thread.id, in: layout)
            if let cpus = thread.cpus { return (n, cpus.description) }
            return pinPlaceholder.map { (n, $0(n)) }
        }
        if !pins.isEmpty {
            out += "  <cputune>\n"
            if layout.iothreads.contains(where: { $0.cpus == nil }) {
                out += "    <!-- replace each placeholder cpuset with a CPU of the VM host on the disk's NUMA node, not used by vCPUs -->\n"
            }
            for (n, cpuset) in pins {
                out += "    <iothreadpin iothread='\(n)' cpuset='\(attribute(cpuset))'/>\n"
            }
            out += "  </cputune>\n"
        }
        out += "  <devices>\n"
        for (index, device) in layout.devices.enumerated() {
            let disk = disk?.forDevice(device.name, index: index)
            out += "    <disk type='\(disk?.kind.libvirtType ?? "file")' device='disk'>\n"
            out += driverXML(device, in: layout, indent: "      ", disk: disk)
            if let disk { out += "      <source \(disk.kind.libvirtSourceAttribute)='\(attribute(disk.path))'/>\n" }
            out += "      <target dev='\(device.name)' bus='virtio'/>\n"
            out += "    </disk>\n"
        }
        out += "  </devices>\n</domain>\n"
        return out
    }

    /// The disk's `<driver>` element: the format, cache and io of `disk`, or without it raw,
    /// cache=none and io=native (the advice for NVMe).
    public static func driverXML(_ device: DeviceLayout, in layout: IOThreadLayout, indent: String = "", disk: DiskBacking? = nil) -> String {
        let format = disk?.format.rawValue ?? "raw", cache = disk?.libvirtCache ?? "none", io = disk?.aio.rawValue ?? "native"
        let open = "\(indent)<driver name='qemu' type='\(format)' cache='\(cache)' io='\(io)' queues='\(device.numQueues)'"
        if device.iothreads.count == 1 && device.isRoundRobin {
            return open + " iothread='\(number(of: device.iothreads[0], in: layout))'/>\n"
        }
        var out = open + ">\n\(indent)  <iothreads>\n"
        for id in device.iothreads {
            let n = number(of: id, in: layout)
            if device.isRoundRobin {
                out += "\(indent)    <iothread id='\(n)'/>\n"
            } else {
                out += "\(indent)    <iothread id='\(n)'>\n"
                for vq in device.vqs(of: id) { out += "\(indent)      <queue id='\(vq)'/>\n" }
                out += "\(indent)    </iothread>\n"
            }
        }
        return out + "\(indent)  </iothreads>\n\(indent)</driver>\n"
    }

    /// `text` as a single-quoted XML attribute value.
    static func attribute(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: "'", with: "&apos;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
