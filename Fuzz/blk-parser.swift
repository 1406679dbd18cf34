// libFuzzer harness for the virtio-blk request parser alone: arbitrary chains (segment count,
// lengths, directions, split headers) over arbitrary memory contents and device limits.
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBlockParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let segmentCount = Int(input.byte() % 12) + 1
    let config = VirtioBlkConfig(
        capacitySectors: UInt64(input.u32()), logicalBlockSize: input.byte() & 1 == 0 ? 512 : 4096,
        segMax: UInt32(input.byte() % 8) + 1, sizeMax: input.byte() & 1 == 0 ? 0 : 1024,
        maxDiscardSectors: input.u32(), maxDiscardSegments: UInt32(input.byte() % 3),
        features: VirtioFeatures(rawValue: UInt64(input.u16()) << 1))
    var lengths: [(Int, Bool)] = []
    var writableSeen = false
    for _ in 0..<segmentCount {
        let length = Int(input.u16() % 600) + 1
        // Keep the device-side invariant the parser relies on: readable segments come first.
        var writable = input.byte() & 1 == 1
        if writableSeen { writable = true }
        writableSeen = writableSeen || writable
        lengths.append((length, writable))
    }
    let memorySize = lengths.reduce(0) { $0 + $1.0 }
    withFuzzGuestMemory(size: memorySize, guestAddress: 0, content: input.rest) { memory, host in
        let storage = UnsafeMutableBufferPointer<ChainSegment>.allocate(capacity: segmentCount)
        let ioStorage = UnsafeMutableBufferPointer<IOSegment>.allocate(capacity: 8)
        defer {
            storage.deallocate()
            ioStorage.deallocate()
        }
        var offset = 0
        var readable = 0
        var readableBytes: UInt64 = 0
        var writableBytes: UInt64 = 0
        for (index, (length, writable)) in lengths.enumerated() {
            storage[index] = ChainSegment(guestAddress: UInt64(offset), host: host + offset, length: UInt32(length), writable: writable)
            if writable { writableBytes += UInt64(length) } else { readable += 1; readableBytes += UInt64(length) }
            offset += length
        }
        let chain = DescriptorChain(head: 0, segments: UnsafeBufferPointer(storage), readableCount: readable,
                                    readableBytes: readableBytes, writableBytes: writableBytes)
        let parser = BlockRequestParser(config: config)
        guard let request = try? parser.parse(chain, into: ioStorage) else { return }
        checkRequestInBounds(request, segments: ioStorage, memory: memory)
        if request.type == .getID { _ = parser.executeGetID(request, segments: ioStorage) }
        request.complete(request.rejection?.status ?? .ok)
    }
    return 0
}
