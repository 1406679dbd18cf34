import Testing
import TestSupport
@testable import Virtio

/// A deterministic, in-process cousin of the libFuzzer harness (`make fuzz`): seeded random ring
/// states, biased toward plausible values so the walk gets deep, must never crash the device,
/// and every pointer it hands out must lie in guest memory.
@Suite("Random ring states (property)")
struct RandomRingPropertyTests {

    @Test("5000 random rings: no crash, nothing outside guest memory, errors only with a broken queue")
    func randomRings() throws {
        var rng = SplitMix64(state: 0x7654_3210)
        var broken = 0
        var served = 0
        let memorySize = 16384
        let mapping = try GuestMemoryMapping(size: memorySize)
        let base = mapping.base
        for _ in 0..<5000 {
            let queueSize = 1 << Int.random(in: 1...5, using: &rng)
            let features = VirtioFeatures(rawValue: [0, 1 << 28, 1 << 29, 3 << 28].randomElement(using: &rng)!)
            let layout = try SplitVirtqueueLayout.contiguous(queueSize: queueSize, at: 0)
            base.initializeMemory(as: UInt8.self, repeating: 0, count: memorySize)
            // Random bytes where data lives, structured junk in the rings: mostly plausible
            // descriptors (so walks get deep and some chains are valid requests), some hostile.
            for offset in stride(from: 0x1000, to: memorySize, by: 8) {
                base.storeBytes(of: rng.next(), toByteOffset: offset, as: UInt64.self)
            }
            for offset in stride(from: 0x1000, to: 0x3000, by: 0x100) where Bool.random(using: &rng) {
                VirtioBlk.storeHeader(type: [0, 1, 4, 8, 11, 13, 99].randomElement(using: &rng)!, sector: UInt64.random(in: 0..<80, using: &rng),
                                      to: base + offset)
            }
            let plausible = Int.random(in: 0..<8, using: &rng) != 0
            for i in 0..<queueSize {
                let length: UInt32 = plausible ? [16, 1, 512, 4096, 24, 32].randomElement(using: &rng)! : UInt32(truncatingIfNeeded: rng.next())
                let address: UInt64 = plausible ? UInt64.random(in: 0x1000..<0x3000, using: &rng) & ~0xF : rng.next() % 0x5000
                var flags: VirtqDescriptorFlags = []
                if Int.random(in: 0..<3, using: &rng) != 0 { flags.insert(.next) }
                if Bool.random(using: &rng) { flags.insert(.write) }
                if Int.random(in: 0..<10, using: &rng) == 0 { flags.insert(.indirect) }
                let next = UInt16.random(in: 0...UInt16(queueSize), using: &rng)
                VirtqDescriptor(address: address, length: length, flags: flags, next: next)
                    .store(to: base + Int(layout.descriptorTable) + 16 * i)
            }
            let avail = base + Int(layout.availRing)
            for slot in 0..<queueSize {
                avail.storeBytes(of: UInt16.random(in: 0...UInt16(queueSize), using: &rng), toByteOffset: 4 + 2 * slot, as: UInt16.self)
            }
            avail.storeBytes(of: UInt16.random(in: 0...UInt16(queueSize + 1), using: &rng), toByteOffset: 2, as: UInt16.self)
            let device = try SplitVirtqueueDevice(layout: layout, memory: mapping.memory, features: features)
            let parser = BlockRequestParser(config: VirtioBlkConfig(capacitySectors: 64, segMax: 8))
            let chains = UnsafeMutableBufferPointer<ChainSegment>.allocate(capacity: queueSize)
            let io = UnsafeMutableBufferPointer<IOSegment>.allocate(capacity: 8)
            defer { chains.deallocate(); io.deallocate() }
            loop: for _ in 0..<(2 * queueSize) {
                do {
                    guard let chain = try device.pop(into: chains) else { break }
                    for segment in chain.segments {
                        #expect(mapping.memory.containsHostRange(segment.host, length: Int(segment.length)))
                    }
                    guard let request = try? parser.parse(chain, into: io) else { break loop }
                    #expect(mapping.memory.containsHostRange(request.status, length: 1))
                    for index in 0..<request.segmentCount {
                        #expect(mapping.memory.containsHostRange(io[index].base!, length: io[index].length))
                    }
                    request.complete(request.rejection?.status ?? .ok)
                    device.pushUsed(head: request.head, length: request.usedLength)
                    _ = device.publishUsed()
                    served += 1
                } catch {
                    #expect(device.brokenReason != nil)
                    broken += 1
                    break
                }
            }
        }
        // The generator must reach both outcomes, or the property says little.
        #expect(broken > 100)
        #expect(served > 100)
    }
}
