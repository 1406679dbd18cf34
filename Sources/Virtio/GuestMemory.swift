/// A contiguous piece of guest-physical address space backed by host memory.
///
/// A region never owns its memory; `GuestMemoryMapping` (or a vhost-user memory table) does.
/// `host` stays valid for as long as the owner lives.
public struct GuestMemoryRegion: @unchecked Sendable, Equatable {
    /// First guest-physical address of the region.
    public let guestAddress: UInt64
    /// Length in bytes.
    public let size: UInt64
    /// Host address of `guestAddress`.
    public let host: UnsafeMutableRawPointer

    public init(guestAddress: UInt64, size: UInt64, host: UnsafeMutableRawPointer) {
        self.guestAddress = guestAddress
        self.size = size
        self.host = host
    }

    /// The host pointer for `[address, address + length)` if the whole range lies in this region.
    ///
    /// Overflow-safe: `address + length` is never computed, so a range that wraps past
    /// 2^64 cannot alias the start of the region.
    @inlinable @inline(__always)
    public func translate(_ address: UInt64, length: UInt64) -> UnsafeMutableRawPointer? {
        guard address >= guestAddress else { return nil }
        let offset = address &- guestAddress
        guard offset <= size, length <= size &- offset else { return nil }
        return host.advanced(by: Int(truncatingIfNeeded: offset))
    }
}

/// Why a guest-physical access was refused.
public enum GuestMemoryError: Error, Equatable, CustomStringConvertible {
    /// No region covers `[address, address + length)` entirely.
    case outOfRange(address: UInt64, length: UInt64)
    /// Regions given to `GuestMemory` overlap or have zero size.
    case invalidLayout(String)

    public var description: String {
        switch self {
        case let .outOfRange(address, length):
            return "guest access of \(length) bytes at 0x\(String(address, radix: 16)) is outside guest memory"
        case let .invalidLayout(why):
            return "invalid guest memory layout: \(why)"
        }
    }
}

/// The guest's physical memory as the device sees it: one or more regions, every access checked.
///
/// This is a cheap value (a few words); copying it does not copy memory. All translation goes
/// through `translate`, which refuses any range not wholly inside one region, so a hostile
/// driver cannot make the device read or write outside what the guest gave it.
public struct GuestMemory: @unchecked Sendable {
    /// Regions sorted by guest address, non-overlapping.
    public let regions: [GuestMemoryRegion]
    // The first region is cached inline: almost every access hits it and this avoids an
    // array bounds check and a loop on the hot path.
    @usableFromInline let first: GuestMemoryRegion

    public init(regions: [GuestMemoryRegion]) throws(GuestMemoryError) {
        guard !regions.isEmpty else { throw .invalidLayout("no regions") }
        let sorted = regions.sorted { $0.guestAddress < $1.guestAddress }
        for (index, region) in sorted.enumerated() {
            guard region.size > 0 else {
                throw .invalidLayout("region at 0x\(String(region.guestAddress, radix: 16)) has size 0")
            }
            guard region.size - 1 <= UInt64.max - region.guestAddress else {
                throw .invalidLayout("region at 0x\(String(region.guestAddress, radix: 16)) wraps past 2^64")
            }
            if index > 0 {
                let previous = sorted[index - 1]
                // previous.end <= region.start, written without overflow.
                guard region.guestAddress - previous.guestAddress >= previous.size else {
                    throw .invalidLayout(
                        "regions at 0x\(String(previous.guestAddress, radix: 16)) and 0x\(String(region.guestAddress, radix: 16)) overlap")
                }
            }
        }
        self.regions = sorted
        self.first = sorted[0]
    }

    /// Host pointer for the guest range `[address, address + length)`, or nil if any byte of it
    /// lies outside guest memory or the range spans two regions.
    @inlinable @inline(__always)
    public func translate(_ address: UInt64, length: UInt64) -> UnsafeMutableRawPointer? {
        if let pointer = first.translate(address, length: length) { return pointer }
        return translateSlow(address, length: length)
    }

    @usableFromInline
    func translateSlow(_ address: UInt64, length: UInt64) -> UnsafeMutableRawPointer? {
        for region in regions.dropFirst() {
            if let pointer = region.translate(address, length: length) { return pointer }
        }
        return nil
    }

    /// Like `translate`, but throws a descriptive error.
    @inlinable
    public func pointer(_ address: UInt64, length: UInt64) throws(GuestMemoryError) -> UnsafeMutableRawPointer {
        guard let pointer = translate(address, length: length) else {
            throw .outOfRange(address: address, length: length)
        }
        return pointer
    }

    /// True when `pointer ..< pointer + length` lies inside one region's host memory.
    /// Tests and the fuzzer use it to prove the device never escapes the guest's memory.
    public func containsHostRange(_ pointer: UnsafeRawPointer, length: Int) -> Bool {
        for region in regions {
            let start = UnsafeRawPointer(region.host)
            if pointer >= start, pointer - start <= Int(region.size),
                length <= Int(region.size) - (pointer - start)
            {
                return true
            }
        }
        return false
    }
}
