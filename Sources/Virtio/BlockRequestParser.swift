/// Turns a popped descriptor chain into a `BlockRequest`. Pure: reads guest memory through the
/// chain's already-checked segments, performs no I/O, allocates nothing.
///
/// Split of responsibilities, as in QEMU's virtio-blk:
/// - a chain that is not a request at all (no header, no status byte) throws `VirtioBlkError`,
///   and the caller marks the device broken;
/// - a request the device must refuse (out of range, misaligned, unknown type, …) comes back with
///   `rejection` set; the caller completes it with that status and keeps serving.
public struct BlockRequestParser: Sendable {
    public let config: VirtioBlkConfig

    public init(config: VirtioBlkConfig) { self.config = config }

    /// Parses `chain`, writing its data buffers into `segments` (capacity ≥ seg_max).
    public func parse(_ chain: DescriptorChain, into segments: UnsafeMutableBufferPointer<IOSegment>) throws(VirtioBlkError) -> BlockRequest {
        let all = chain.segments
        let writableCount = all.count - chain.readableCount
        guard chain.readableCount > 0, writableCount > 0 else {
            throw .missingHeaders(head: chain.head, readableBytes: chain.readableBytes, writableBytes: chain.writableBytes)
        }
        guard chain.readableBytes >= UInt64(VirtioBlk.headerSize) else {
            throw .headerTooShort(head: chain.head, readableBytes: chain.readableBytes)
        }
        // The header may be split across descriptors; gather it.
        var header = (UInt64(0), UInt64(0))
        if all[0].length >= UInt32(VirtioBlk.headerSize) {
            header = (all[0].host.loadUnaligned(as: UInt64.self), all[0].host.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        } else {
            withUnsafeMutableBytes(of: &header) { buffer in
                _ = Self.gather(from: all[0..<chain.readableCount], skipping: 0, into: buffer)
            }
        }
        let rawType = UInt32(littleEndian: UInt32(truncatingIfNeeded: header.0))
        let ioprio = UInt32(littleEndian: UInt32(truncatingIfNeeded: header.0 >> 32))
        let headerSector = UInt64(littleEndian: header.1)
        // The status byte is the last writable byte; it may share a descriptor with data.
        let last = all[all.count - 1]
        let status = (last.host + Int(last.length) - 1).assumingMemoryBound(to: UInt8.self)

        var request = BlockRequest(
            head: chain.head, rawType: rawType, type: VirtioBlkRequestType(rawValue: rawType), ioprio: ioprio,
            sector: headerSector, dataLength: 0, segmentCount: 0, discardFlags: 0, status: status,
            usedLength: UInt32(clamping: chain.writableBytes), rejection: nil)

        guard let type = request.type else {
            request.rejection = .unsupportedType(rawType)
            return request
        }
        switch type {
        case .read, .getID:
            // Data = writable buffers minus the final status byte.
            let (count, bytes, overflow) = Self.collect(
                all[chain.readableCount..<all.count], skipping: 0, dropLast: 1, into: segments)
            request.segmentCount = min(count, segments.count)
            request.dataLength = bytes
            if type == .read {
                request.rejection = overflow ? .tooManySegments(count: count, segMax: Int(config.segMax))
                    : checkReadWrite(sector: headerSector, bytes: bytes, segments: segments, count: count)
            }
        case .write:
            // Data = readable buffers after the 16-byte header.
            let (count, bytes, overflow) = Self.collect(
                all[0..<chain.readableCount], skipping: VirtioBlk.headerSize, dropLast: 0, into: segments)
            request.segmentCount = min(count, segments.count)
            request.dataLength = bytes
            request.rejection = overflow ? .tooManySegments(count: count, segMax: Int(config.segMax))
                : checkReadWrite(sector: headerSector, bytes: bytes, segments: segments, count: count)
        case .flush:
            if !config.features.contains(.blkFlush) { request.rejection = .commandNotOffered(.flush) }
        case .discard, .writeZeroes:
            try parseDiscard(type: type, chain: chain, into: &request)
        }
        return request
    }

    private func checkReadWrite(sector: UInt64, bytes: UInt64, segments: UnsafeMutableBufferPointer<IOSegment>,
                                count: Int) -> BlockRequestRejection? {
        if count > Int(config.segMax) { return .tooManySegments(count: count, segMax: Int(config.segMax)) }
        if config.sizeMax != 0 {
            for index in 0..<count where segments[index].length > Int(config.sizeMax) {
                return .segmentTooLarge(segment: index, length: segments[index].length, sizeMax: config.sizeMax)
            }
        }
        let maxBytes = config.maxTransferSectors << VirtioBlk.sectorShift
        if bytes > maxBytes { return .tooLarge(bytes: bytes, maxBytes: maxBytes) }
        return rangeRejection(sector: sector, bytes: bytes)
    }

    private func rangeRejection(sector: UInt64, bytes: UInt64) -> BlockRequestRejection? {
        if config.rangeIsValid(sector: sector, bytes: bytes) { return nil }
        let blockSize = UInt64(config.logicalBlockSize)
        let sectorsPerBlock = max(blockSize >> VirtioBlk.sectorShift, 1)
        if bytes % blockSize != 0 || sector % sectorsPerBlock != 0 {
            return .misaligned(sector: sector, bytes: bytes, logicalBlockSize: config.logicalBlockSize)
        }
        return .outOfRange(sector: sector, bytes: bytes, capacitySectors: config.capacitySectors)
    }

    private func parseDiscard(type: VirtioBlkRequestType, chain: DescriptorChain, into request: inout BlockRequest) throws(VirtioBlkError) {
        let isWriteZeroes = type == .writeZeroes
        let offered = config.features.contains(isWriteZeroes ? .blkWriteZeroes : .blkDiscard)
        guard offered else {
            request.rejection = .commandNotOffered(type)
            return
        }
        let payload = chain.readableBytes - UInt64(VirtioBlk.headerSize)
        guard payload >= UInt64(VirtioBlk.discardSegmentSize) else {
            throw .discardSegmentTooShort(head: chain.head, bytes: payload)
        }
        if payload % UInt64(VirtioBlk.discardSegmentSize) != 0 {
            request.rejection = .discardPayloadNotSegments(bytes: payload)
            return
        }
        let segmentCount = payload / UInt64(VirtioBlk.discardSegmentSize)
        let maxSegments = isWriteZeroes ? config.maxWriteZeroesSegments : config.maxDiscardSegments
        if segmentCount > UInt64(maxSegments) {
            request.rejection = .tooManyDiscardSegments(count: segmentCount, max: maxSegments)
            return
        }
        var segment = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &segment) { buffer in
            _ = Self.gather(from: chain.segments[0..<chain.readableCount], skipping: VirtioBlk.headerSize, into: buffer)
        }
        let sector = UInt64(littleEndian: segment.0)
        let sectors = UInt32(littleEndian: UInt32(truncatingIfNeeded: segment.1))
        let flags = UInt32(littleEndian: UInt32(truncatingIfNeeded: segment.1 >> 32))
        request.sector = sector
        request.dataLength = UInt64(sectors) << VirtioBlk.sectorShift
        request.discardFlags = flags
        // QEMU's order: size limit, range, unknown flags, UNMAP on discard.
        let maxSectors = isWriteZeroes ? config.maxWriteZeroesSectors : config.maxDiscardSectors
        if sectors > maxSectors {
            request.rejection = .discardTooLarge(sectors: sectors, max: maxSectors)
        } else if let rejection = rangeRejection(sector: sector, bytes: request.dataLength) {
            request.rejection = rejection
        } else if flags & ~VirtioBlk.writeZeroesFlagUnmap != 0 {
            request.rejection = .unknownDiscardFlags(flags)
        } else if !isWriteZeroes && flags & VirtioBlk.writeZeroesFlagUnmap != 0 {
            request.rejection = .unmapOnDiscard
        }
    }

    /// Copies bytes from `segments`, after skipping `skip` bytes, until `buffer` is full.
    /// Returns the number of bytes copied.
    static func gather(from segments: Slice<UnsafeBufferPointer<ChainSegment>>, skipping skip: Int,
                       into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var toSkip = skip
        var copied = 0
        for segment in segments where copied < buffer.count {
            var offset = 0
            let length = Int(segment.length)
            if toSkip >= length {
                toSkip -= length
                continue
            }
            offset = toSkip
            toSkip = 0
            let n = min(length - offset, buffer.count - copied)
            (buffer.baseAddress! + copied).copyMemory(from: segment.host + offset, byteCount: n)
            copied += n
        }
        return copied
    }

    /// Writes the byte ranges of `segments` minus the first `skip` and last `dropLast` bytes
    /// into `output`. Returns (count, bytes, overflowed): count is the number of data segments
    /// (all of them, even those that did not fit), overflowed means `output` was too small.
    static func collect(_ segments: Slice<UnsafeBufferPointer<ChainSegment>>, skipping skip: Int, dropLast: Int,
                        into output: UnsafeMutableBufferPointer<IOSegment>) -> (Int, UInt64, Bool) {
        var total: UInt64 = 0
        for segment in segments { total += UInt64(segment.length) }
        let wanted = total - UInt64(skip) - UInt64(dropLast)  // callers guarantee total ≥ skip + dropLast
        var toSkip = skip
        var remaining = wanted
        var count = 0
        for segment in segments where remaining > 0 {
            let length = Int(segment.length)
            if toSkip >= length {
                toSkip -= length
                continue
            }
            let offset = toSkip
            toSkip = 0
            let n = Int(min(UInt64(length - offset), remaining))
            if count < output.count { output[count] = IOSegment(base: segment.host + offset, length: n) }
            count += 1
            remaining -= UInt64(n)
        }
        return (count, wanted, count > output.count)
    }

    /// Executes GET_ID in place: copies up to 20 bytes of the serial (NUL-padded when shorter)
    /// into the request's data buffers, as QEMU does. Returns the status to complete with.
    public func executeGetID(_ request: BlockRequest, segments: UnsafeMutableBufferPointer<IOSegment>) -> VirtioBlkStatus {
        var id = [UInt8](repeating: 0, count: VirtioBlk.idBytes)
        let serial = Array(config.serial.utf8.prefix(VirtioBlk.idBytes))
        id.replaceSubrange(0..<serial.count, with: serial)
        var written = 0
        let limit = min(VirtioBlk.idBytes, serial.count + 1, Int(request.dataLength))
        for index in 0..<request.segmentCount where written < limit {
            let segment = segments[index]
            let n = min(segment.length, limit - written)
            id.withUnsafeBytes { bytes in
                segment.base!.copyMemory(from: bytes.baseAddress! + written, byteCount: n)
            }
            written += n
        }
        return .ok
    }
}
