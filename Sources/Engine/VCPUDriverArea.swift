/// The guest memory a vCPU driver uses per queue: indirect descriptor tables, request headers,
/// discard payloads and status bytes, then 4 KiB-aligned data buffers (O_DIRECT needs them).
public enum VCPUDriverArea {
    static let indirectEntries = 4

    public static func bytes(queueSize: Int, depth: Int, maxBlock: Int) -> Int {
        queueSize * indirectEntries * 16 + depth * (16 + 16 + 16) + 4096 + depth * dataSlotBytes(maxBlock: maxBlock)
    }

    /// One slot's data buffer: `maxBlock` rounded up to 4 KiB, so that every slot stays aligned.
    static func dataSlotBytes(maxBlock: Int) -> Int { (maxBlock + 4095) / 4096 * 4096 }
}
