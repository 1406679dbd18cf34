import Testing
@testable import Layout

/// libvirt's rules for disk IOThread mapping, one test each, on domain XML in the shape of
/// libvirt's formatdomain documentation.
@Suite("libvirt domain XML validation")
struct LibvirtValidationTests {
    private func domain(iothreadids: String = "<iothreadids><iothread id='1'/><iothread id='2'/></iothreadids>",
                        driver: String, cputune: String = "") -> String {
        """
        <domain type='kvm'>
          <name>db1</name>
          \(iothreadids)
          \(cputune)
          <devices>
            <disk type='block' device='disk'>
              \(driver)
              <source dev='/dev/nvme0n1'/>
              <target dev='vda' bus='virtio'/>
            </disk>
          </devices>
        </domain>
        """
    }

    @Test("libvirt's documented example: queues mapped to iothreads, with pinning and poll")
    func documented() throws {
        let xml = domain(
            iothreadids: "<iothreadids><iothread id='1'><poll max='50000'/></iothread><iothread id='2'/></iothreadids>",
            driver: """
                <driver name='qemu' queues='4'><iothreads>
                  <iothread id='1'><queue id='1'/><queue id='0'/></iothread>
                  <iothread id='2'><queue id='2'/><queue id='3'/></iothread>
                </iothreads></driver>
                """,
            cputune: "<cputune><iothreadpin iothread='1' cpuset='2-3'/><iothreadpin iothread='2' cpuset='4'/></cputune>")
        let layout = try LibvirtLayoutFormat.parse(xml, numQueues: nil)
        #expect(layout.devices == [DeviceLayout(name: "vda", iothreads: ["iothread1", "iothread2"],
                                                assignment: ["iothread1", "iothread1", "iothread2", "iothread2"])])
        #expect(layout.iothreads == [IOThreadSpec(id: "iothread1", cpus: CPUSet([2, 3]), pollMaxNs: 50000),
                                     IOThreadSpec(id: "iothread2", cpus: CPUSet([4]))])
    }

    @Test("<iothread> without <queue> children means round-robin")
    func roundRobin() throws {
        let layout = try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu' queues='3'><iothreads><iothread id='2'/><iothread id='1'/></iothreads></driver>"), numQueues: nil)
        #expect(layout.devices[0].assignment == ["iothread2", "iothread1", "iothread2"])
    }

    @Test("queues is required once <queue> elements appear")
    func queuesRequired() {
        #expect(throws: LayoutError.libvirtQueuesRequired(disk: "vda")) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu'><iothreads><iothread id='1'><queue id='0'/></iothread></iothreads></driver>"), numQueues: nil)
        }
    }

    @Test("every queue exactly once: twice is refused")
    func queueTwice() {
        #expect(throws: LayoutError.libvirtQueueTwice(disk: "vda", queue: 0)) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu' queues='2'><iothreads><iothread id='1'><queue id='0'/></iothread><iothread id='2'><queue id='0'/><queue id='1'/></iothread></iothreads></driver>"), numQueues: nil)
        }
    }

    @Test("every queue exactly once: a missing queue is refused")
    func queueMissing() {
        #expect(throws: LayoutError.libvirtQueueMissing(disk: "vda", queue: 1)) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu' queues='3'><iothreads><iothread id='1'><queue id='0'/></iothread><iothread id='2'><queue id='2'/></iothread></iothreads></driver>"), numQueues: nil)
        }
    }

    @Test("a queue id beyond queues is refused")
    func queueOutOfRange() {
        #expect(throws: LayoutError.libvirtQueueOutOfRange(disk: "vda", queue: 2, queues: 2)) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu' queues='2'><iothreads><iothread id='1'><queue id='0'/><queue id='2'/></iothread></iothreads></driver>"), numQueues: nil)
        }
    }

    @Test("iothread ids must exist in <iothreadids>")
    func iothreadNotDefined() {
        #expect(throws: LayoutError.libvirtIOThreadNotDefined(disk: "vda", id: 3)) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu' queues='1'><iothreads><iothread id='3'/></iothreads></driver>"), numQueues: nil)
        }
        #expect(throws: LayoutError.libvirtIOThreadNotDefined(disk: "vda", id: 5)) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu' iothread='5'/>"), numQueues: nil)
        }
    }

    @Test("the iothread attribute and the <iothreads> element exclude each other")
    func attributeWithElement() {
        #expect(throws: LayoutError.libvirtIOThreadAttributeWithElement(disk: "vda")) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu' iothread='1' queues='1'><iothreads><iothread id='1'/></iothreads></driver>"), numQueues: nil)
        }
    }

    @Test("<iothreads>N</iothreads> without <iothreadids> defines ids 1...N; the iothread attribute uses one")
    func countOnly() throws {
        let layout = try LibvirtLayoutFormat.parse(domain(iothreadids: "<iothreads>2</iothreads>", driver: "<driver name='qemu' iothread='2' queues='4'/>"), numQueues: nil)
        #expect(layout.iothreads.map(\.id) == ["iothread1", "iothread2"])
        #expect(layout.devices[0].assignment == Array(repeating: "iothread2", count: 4))
    }

    @Test("a disk listing the same iothread twice is refused, with or without queues")
    func diskIOThreadTwice() {
        #expect(throws: LayoutError.duplicateIOThread("iothread1")) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu' queues='2'><iothreads><iothread id='1'/><iothread id='1'/></iothreads></driver>"), numQueues: nil)
        }
        #expect(throws: LayoutError.duplicateIOThread("iothread1")) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver name='qemu' queues='2'><iothreads><iothread id='1'><queue id='0'/></iothread><iothread id='1'><queue id='1'/></iothread></iothreads></driver>"), numQueues: nil)
        }
    }

    @Test("an iothread id defined twice is refused")
    func duplicateID() {
        #expect(throws: LayoutError.libvirtDuplicateIOThreadID(1)) {
            try LibvirtLayoutFormat.parse(domain(iothreadids: "<iothreadids><iothread id='1'/><iothread id='1'/></iothreadids>", driver: "<driver iothread='1'/>"), numQueues: nil)
        }
    }

    @Test("malformed XML names line and column, never crashes")
    func malformed() {
        let broken = "<domain type='kvm'>\n  <iothreadids>\n    <iothread id='1'>\n  </iothreadids>\n</domain>\n"
        do {
            _ = try LibvirtLayoutFormat.parse(broken, numQueues: nil)
            Issue.record("accepted malformed XML")
        } catch {
            guard case let .malformedXML(line, _, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(line == 4)
        }
        for garbage in ["", "<", "<domain", "not xml", "<domain><devices><disk><driver queues='x'/></disk></devices></domain>", "<a></b>"] {
            #expect(throws: LayoutError.self) { try LibvirtLayoutFormat.parse(garbage, numQueues: nil) }
        }
    }

    @Test("a bad cpuset is refused with the text")
    func badCPUSet() {
        #expect(throws: LayoutError.invalidCPUSet("3-1", "'3-1' is not a CPU number or a range like 2-5")) {
            try LibvirtLayoutFormat.parse(domain(driver: "<driver iothread='1'/>", cputune: "<cputune><iothreadpin iothread='1' cpuset='3-1'/></cputune>"), numQueues: nil)
        }
    }
}
