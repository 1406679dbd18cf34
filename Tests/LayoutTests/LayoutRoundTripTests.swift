import Testing
import TestSupport
@testable import Layout

@Suite("Layouts: specs, emitters, round trips")
struct LayoutRoundTripTests {

    /// A random valid layout: shared IOThreads, explicit or round-robin devices. libvirt ids
    /// are numbers, so ids are "iothreadN"; QEMU has no pinning, so CPU sets only when asked.
    static func randomLayout(_ rng: inout SplitMix64, withCPUs: Bool) -> IOThreadLayout {
        let threadCount = Int.random(in: 1...6, using: &rng)
        let numbers = Array((1...12).shuffled(using: &rng).prefix(threadCount))
        let iothreads = numbers.map { n in
            IOThreadSpec(id: "iothread\(n)",
                         cpus: withCPUs && Bool.random(using: &rng) ? CPUSet((0..<Int.random(in: 1...3, using: &rng)).map { _ in Int.random(in: 0..<16, using: &rng) }) : nil,
                         pollMaxNs: Bool.random(using: &rng) ? UInt64.random(in: 0...65536, using: &rng) : nil)
        }
        var devices: [DeviceLayout] = []
        for index in 0..<Int.random(in: 1...3, using: &rng) {
            let name = "vd\(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(index))))"
            let numQueues = Int.random(in: 1...16, using: &rng)
            let used = Array(iothreads.map(\.id).shuffled(using: &rng).prefix(Int.random(in: 1...threadCount, using: &rng)))
            if Bool.random(using: &rng) || used.count > numQueues {
                devices.append(.roundRobin(name: name, iothreads: used, numQueues: numQueues))
            } else {
                // Explicit: every listed IOThread gets at least one vq, the rest at random.
                var assignment = used + (0..<(numQueues - used.count)).map { _ in used.randomElement(using: &rng)! }
                assignment.shuffle(using: &rng)
                let order = used.sorted { assignment.firstIndex(of: $0)! < assignment.firstIndex(of: $1)! }
                devices.append(DeviceLayout(name: name, iothreads: order.shuffled(using: &rng), assignment: assignment))
            }
        }
        return IOThreadLayout(iothreads: iothreads, devices: devices)
    }

    @Test("QEMU form: parse(emit(layout)) == layout for 500 random layouts")
    func qemuRoundTrip() throws {
        var rng = SplitMix64(state: 1)
        for _ in 0..<500 {
            let layout = Self.randomLayout(&rng, withCPUs: false)
            let text = QEMULayoutFormat.emit(layout)
            let parsed = try QEMULayoutFormat.parse(text, numQueues: nil)
            #expect(parsed == layout, "\(text)")
        }
    }

    @Test("libvirt form: parse(emit(layout)) == layout for 500 random layouts, pinning included")
    func libvirtRoundTrip() throws {
        var rng = SplitMix64(state: 2)
        for _ in 0..<500 {
            let layout = Self.randomLayout(&rng, withCPUs: true)
            let text = LibvirtLayoutFormat.emit(layout)
            let parsed = try LibvirtLayoutFormat.parse(text, numQueues: nil)
            #expect(parsed == layout, "\(text)")
        }
    }

    @Test("single, rr:N and per-vq resolve as QEMU would")
    func namedSpecs() throws {
        #expect(try LayoutSpec.parse("single", numQueues: 3).devices[0].assignment == ["iothread1", "iothread1", "iothread1"])
        #expect(try LayoutSpec.parse("rr:2", numQueues: 5).devices[0].assignment == ["iothread1", "iothread2", "iothread1", "iothread2", "iothread1"])
        let perVQ = try LayoutSpec.parse("per-vq", numQueues: 3)
        #expect(perVQ.iothreads.count == 3 && perVQ.devices[0].assignment == ["iothread1", "iothread2", "iothread3"])
        // More IOThreads than vqs: the extra ones serve nothing, as in QEMU.
        #expect(try LayoutSpec.parse("rr:4", numQueues: 2).devices[0].vqs(of: "iothread4") == [])
    }

    @Test("bad specs are refused with a message", arguments: ["rr:0", "rr:x", "rr:", "bogus", "qemu:", "libvirt:", "libvirt:/nonexistent/vm.xml", "qemu:@/nonexistent"])
    func badSpecs(spec: String) {
        #expect(throws: LayoutError.self) { try LayoutSpec.parse(spec, numQueues: 4) }
    }

    @Test("single/rr/per-vq need --num-queues")
    func numQueuesRequired() {
        #expect(throws: LayoutError.numQueuesRequired("single")) { try LayoutSpec.parse("single", numQueues: nil) }
        #expect(throws: LayoutError.invalidNumQueues(0)) { try LayoutSpec.parse("single", numQueues: 0) }
    }

    @Test("the single layout emits QEMU's pre-9.0 iothread property and libvirt's iothread attribute")
    func singleEmission() throws {
        let layout = IOThreadLayout.single(numQueues: 4)
        #expect(QEMULayoutFormat.emit(layout) == """
            -object iothread,id=iothread1
            -device '{"driver":"virtio-blk-pci","id":"vda","drive":"drive-vda","num-queues":4,"iothread":"iothread1"}'

            """)
        #expect(LibvirtLayoutFormat.driverXML(layout.devices[0], in: layout) ==
                "<driver name='qemu' type='raw' cache='none' io='native' queues='4' iothread='1'/>\n")
    }

    @Test("CPU sets parse and print in list syntax")
    func cpuSets() throws {
        #expect(try CPUSet(parsing: "0-3,8,10-11").description == "0-3,8,10-11")
        #expect(try CPUSet(parsing: "5,4,3").description == "3-5")
        for bad in ["", "a", "1-", "-1", "3-2", "1,,2"] {
            #expect(throws: LayoutError.self) { try CPUSet(parsing: bad) }
        }
    }
}
