// Shared by the virtqueue libFuzzer harnesses (built by `make fuzz` together with Sources/Virtio).
#if canImport(Glibc)
import Glibc
#endif

/// Guest memory of exactly `size` bytes from malloc, filled from `content` then zeros, so that
/// AddressSanitizer reports any access past the region the device was given.
func withFuzzGuestMemory(size: Int, guestAddress: UInt64, content: UnsafeRawBufferPointer,
                         _ body: (GuestMemory, UnsafeMutableRawPointer) -> Void) {
    let host = malloc(size)!
    memset(host, 0, size)
    if content.count > 0 { memcpy(host, content.baseAddress!, min(size, content.count)) }
    defer { free(host) }
    let memory = try! GuestMemory(regions: [GuestMemoryRegion(guestAddress: guestAddress, size: UInt64(size), host: host)])
    body(memory, host)
}

/// Stops the run (libFuzzer records the input) when the device escaped guest memory.
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fputs("Fuzz harness check failed: \(message())\n", stderr)
        abort()
    }
}

/// Every buffer a parsed request points at must lie inside guest memory.
func checkRequestInBounds(_ request: BlockRequest, segments: UnsafeMutableBufferPointer<IOSegment>, memory: GuestMemory) {
    fuzzCheck(memory.containsHostRange(request.status, length: 1), "status byte outside guest memory")
    var total: UInt64 = 0
    for index in 0..<request.segmentCount {
        let segment = segments[index]
        fuzzCheck(segment.length > 0, "empty data segment \(index)")
        fuzzCheck(memory.containsHostRange(segment.base!, length: segment.length), "data segment \(index) outside guest memory")
        total += UInt64(segment.length)
    }
    if request.type == .read || request.type == .write, request.rejection == nil {
        fuzzCheck(total == request.dataLength, "segments hold \(total) bytes, request says \(request.dataLength)")
    }
}
