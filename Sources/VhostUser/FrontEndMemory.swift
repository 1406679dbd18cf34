import CLinuxShim
import Virtio
#if canImport(Glibc)
import Glibc
import SystemSupport
#endif

/// The guest's memory as a vhost-user front-end shares it: each region's descriptor mapped here,
/// so that descriptor addresses (guest-physical) and ring addresses (the front-end's own virtual
/// addresses) both translate to pointers in this process, bounds-checked by `GuestMemory`.
public final class FrontEndMemory: @unchecked Sendable {
    public struct Region {
        public let description: MemoryRegionDescription
        /// The whole mapping (it starts at the file's offset 0, so `mmapOffset` can be any value).
        let mappingBase: UnsafeMutableRawPointer
        let mappingLength: Int
        /// Where guest-physical `description.guestAddress` is.
        public var host: UnsafeMutableRawPointer { mappingBase + Int(description.mmapOffset) }
    }

    public let regions: [Region]
    public let memory: GuestMemory

    /// Maps every region; takes ownership of `fds` (closed once mapped, as the mapping holds the
    /// memory). A region that cannot be mapped, overlaps another or wraps is an error.
    public init(regions descriptions: [MemoryRegionDescription], fds: [Int32]) throws(VhostUserProtocolError) {
        precondition(descriptions.count == fds.count)
        defer { for fd in fds { close(fd) } }
        var mapped: [Region] = []
        func unmapAll() { for r in mapped { munmap(r.mappingBase, r.mappingLength) } }
        for (d, fd) in zip(descriptions, fds) {
            let (end, o1) = d.guestAddress.addingReportingOverflow(d.size)
            let (_, o2) = d.frontEndAddress.addingReportingOverflow(d.size)
            let (length, o3) = d.size.addingReportingOverflow(d.mmapOffset)
            guard d.size > 0, !o1, !o2, !o3, end > d.guestAddress, length <= UInt64(Int.max) else {
                unmapAll()
                throw VhostUserProtocolError("memory region at guest 0x\(String(d.guestAddress, radix: 16)) of \(d.size) bytes (mmap offset \(d.mmapOffset)) wraps or is empty")
            }
            guard let base = linux_mmap_shared(fd, length, 0) else {
                let error = SystemCallError.last("mmap", operation: "cannot map memory region at guest 0x\(String(d.guestAddress, radix: 16)) (\(length) bytes)")
                unmapAll()
                throw VhostUserProtocolError(error)
            }
            mapped.append(Region(description: d, mappingBase: base, mappingLength: Int(length)))
        }
        do {
            memory = try GuestMemory(regions: mapped.map { GuestMemoryRegion(guestAddress: $0.description.guestAddress, size: $0.description.size, host: $0.host) })
        } catch {
            unmapAll()
            throw VhostUserProtocolError("the memory table is not usable: \(error)")
        }
        regions = mapped
    }

    deinit {
        for r in regions { munmap(r.mappingBase, r.mappingLength) }
    }

    /// The guest-physical address of a front-end virtual address and `length` bytes after it, or
    /// nil when no region holds the whole range.
    public func guestAddress(ofFrontEnd address: UInt64, length: UInt64) -> UInt64? {
        for r in regions {
            let d = r.description
            if address >= d.frontEndAddress, length <= d.size, address - d.frontEndAddress <= d.size - length {
                return d.guestAddress + (address - d.frontEndAddress)
            }
        }
        return nil
    }

    /// Each region as host bytes (for io_uring fixed-buffer registration).
    public var hostRegions: [UnsafeMutableRawBufferPointer] {
        regions.map { UnsafeMutableRawBufferPointer(start: $0.host, count: Int($0.description.size)) }
    }
}
