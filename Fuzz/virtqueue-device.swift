// libFuzzer harness: arbitrary bytes become guest memory and ring state; the device side pops,
// parses and completes whatever it finds. It must never crash, trap or touch memory outside the
// region (ASan guards the region's edges; the checks below guard every pointer it hands out).
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVirtqueueDevice(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let queueSize = 1 << (Int(input.byte() % 8) + 1)           // 2 ... 256
    let flags = input.byte()
    var features: VirtioFeatures = [.version1]
    if flags & 1 != 0 { features.insert(.eventIndex) }
    if flags & 2 != 0 { features.insert(.indirectDescriptors) }
    let lastAvail = input.u16()
    let blockSize: UInt32 = flags & 4 != 0 ? 4096 : 512
    let guestAddress: UInt64 = flags & 8 != 0 ? 0x10000 : 0
    guard let layout = try? SplitVirtqueueLayout.contiguous(queueSize: queueSize, at: guestAddress) else { return 0 }
    let memorySize = max(Int(layout.contiguousSpan) + 64, input.rest.count)

    withFuzzGuestMemory(size: memorySize, guestAddress: guestAddress, content: input.rest) { memory, _ in
        guard let device = try? SplitVirtqueueDevice(layout: layout, memory: memory, features: features,
                                                       lastAvailIndex: lastAvail) else { return }
        let parser = BlockRequestParser(config: VirtioBlkConfig(capacitySectors: UInt64(memorySize / 512), logicalBlockSize: blockSize,
                                                                segMax: 16, sizeMax: flags & 16 != 0 ? 4096 : 0))
        let chainStorage = UnsafeMutableBufferPointer<ChainSegment>.allocate(capacity: queueSize)
        let ioStorage = UnsafeMutableBufferPointer<IOSegment>.allocate(capacity: 16)
        defer {
            chainStorage.deallocate()
            ioStorage.deallocate()
        }
        device.disableNotifications()
        for round in 0..<(2 * queueSize + 2) {
            let chain: DescriptorChain?
            do {
                chain = try device.pop(into: chainStorage)
            } catch {
                fuzzCheck(device.brokenReason != nil, "pop threw \(error) without marking the queue broken")
                // A broken queue must refuse to serve.
                fuzzCheck((try? device.pop(into: chainStorage)) == nil, "broken queue popped again")
                return
            }
            guard let chain else { break }
            for segment in chain.segments {
                fuzzCheck(memory.containsHostRange(segment.host, length: Int(segment.length)), "chain segment outside guest memory")
            }
            do {
                let request = try parser.parse(chain, into: ioStorage)
                checkRequestInBounds(request, segments: ioStorage, memory: memory)
                if request.type == .getID && request.rejection == nil {
                    _ = parser.executeGetID(request, segments: ioStorage)
                }
                request.complete(request.rejection?.status ?? .ok)
                device.pushUsed(head: request.head, length: request.usedLength)
            } catch {
                // Not a virtio-blk request: the engine marks the device broken; stop here.
                return
            }
            if round % 3 == 0 { _ = device.publishUsed() }
        }
        _ = device.publishUsed()
        _ = device.enableNotifications()
    }
    return 0
}
