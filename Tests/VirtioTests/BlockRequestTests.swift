import Testing
@testable import Virtio

/// One test per virtio-blk validation rule (QEMU hw/block/virtio-blk.c semantics).
@Suite("virtio-blk request parsing")
struct BlockRequestTests {
    static let capacity: UInt64 = 2048  // sectors: 1 MiB

    /// Builds a chain by hand from (address, length, writable) buffers and parses it.
    private func parse(_ f: QueueFixture, _ buffers: [DriverBuffer],
                       config: VirtioBlkConfig = VirtioBlkConfig(capacitySectors: capacity)) throws -> BlockRequest {
        _ = buffers.withUnsafeBufferPointer { f.driver.add($0, token: 0) }
        _ = f.driver.publish()
        let chain = try #require(try f.pop())
        return try BlockRequestParser(config: config).parse(chain, into: f.ioStorage)
    }

    private func request(_ f: QueueFixture, type: VirtioBlkRequestType, sector: UInt64, dataLength: UInt32,
                         config: VirtioBlkConfig = VirtioBlkConfig(capacitySectors: capacity)) throws -> BlockRequest {
        let base = QueueFixture.scratch
        VirtioBlk.storeHeader(type: type.rawValue, sector: sector, to: f.host(base))
        var buffers = [DriverBuffer(address: base, length: 16, writable: false)]
        if dataLength > 0 { buffers.append(DriverBuffer(address: base + 0x1000, length: dataLength, writable: type != .write)) }
        buffers.append(DriverBuffer(address: base + 0x100, length: 1, writable: true))
        return try parse(f, buffers, config: config)
    }

    @Test("IN: sector, length, data buffer and status are found")
    func read() throws {
        let f = try QueueFixture()
        let r = try request(f, type: .read, sector: 8, dataLength: 4096)
        #expect(r.type == .read)
        #expect(r.sector == 8 && r.offset == 4096)
        #expect(r.dataLength == 4096)
        #expect(r.segmentCount == 1)
        #expect(f.ioStorage[0] == IOSegment(base: f.host(QueueFixture.scratch + 0x1000), length: 4096))
        #expect(r.status == f.host(QueueFixture.scratch + 0x100).assumingMemoryBound(to: UInt8.self))
        #expect(r.usedLength == 4097)
        #expect(r.rejection == nil)
        r.complete(.ok)
        #expect(f.host(QueueFixture.scratch + 0x100).load(as: UInt8.self) == 0)
    }

    @Test("OUT: data buffers are the readable ones after the header")
    func write() throws {
        let f = try QueueFixture()
        let r = try request(f, type: .write, sector: 2040, dataLength: 4096)
        #expect(r.type == .write && r.dataLength == 4096 && r.rejection == nil)
        #expect(r.usedLength == 1)
    }

    @Test("a header split across descriptors and data sharing a descriptor with the status byte")
    func splitHeaderAndSharedStatus() throws {
        let f = try QueueFixture()
        let base = QueueFixture.scratch
        VirtioBlk.storeHeader(type: VirtioBlkRequestType.write.rawValue, sector: 24, to: f.host(base))
        // header bytes 0..<5 | 5..<16 + first 512 data bytes | 512 more data | status, writable
        let r = try parse(f, [
            DriverBuffer(address: base, length: 5, writable: false),
            DriverBuffer(address: base + 5, length: 11 + 512, writable: false),
            DriverBuffer(address: base + 0x1000, length: 512, writable: false),
            DriverBuffer(address: base + 0x2000, length: 1, writable: true),
        ])
        #expect(r.type == .write && r.sector == 24 && r.dataLength == 1024)
        #expect(r.segmentCount == 2)
        #expect(f.ioStorage[0] == IOSegment(base: f.host(base + 16), length: 512))
        let f2 = try QueueFixture()
        VirtioBlk.storeHeader(type: VirtioBlkRequestType.read.rawValue, sector: 0, to: f2.host(base))
        let r2 = try parse(f2, [
            DriverBuffer(address: base, length: 16, writable: false),
            DriverBuffer(address: base + 0x1000, length: 513, writable: true),  // 512 data + status
        ])
        #expect(r2.dataLength == 512 && r2.segmentCount == 1)
        #expect(r2.status == f2.host(base + 0x1000 + 512).assumingMemoryBound(to: UInt8.self))
    }

    @Test("a chain with no status byte breaks the device (missing headers)")
    func missingStatus() throws {
        let f = try QueueFixture()
        #expect(throws: VirtioBlkError.missingHeaders(head: 0, readableBytes: 16, writableBytes: 0)) {
            _ = try parse(f, [DriverBuffer(address: QueueFixture.scratch, length: 16, writable: false)])
        }
    }

    @Test("a chain with no readable header breaks the device (missing headers)")
    func missingHeader() throws {
        let f = try QueueFixture()
        #expect(throws: VirtioBlkError.missingHeaders(head: 0, readableBytes: 0, writableBytes: 1)) {
            _ = try parse(f, [DriverBuffer(address: QueueFixture.scratch, length: 1, writable: true)])
        }
    }

    @Test("fewer than 16 header bytes breaks the device")
    func headerTooShort() throws {
        let f = try QueueFixture()
        #expect(throws: VirtioBlkError.headerTooShort(head: 0, readableBytes: 12)) {
            _ = try parse(f, [DriverBuffer(address: QueueFixture.scratch, length: 12, writable: false),
                              DriverBuffer(address: QueueFixture.scratch + 0x100, length: 1, writable: true)])
        }
    }

    @Test("unknown request types complete with UNSUPP", arguments: [UInt32(2), 3, 5, 7, 9, 0x8000_0000, 0xFFFF_FFFF])
    func unsupportedType(type: UInt32) throws {
        let f = try QueueFixture()
        VirtioBlk.storeHeader(type: type, sector: 0, to: f.host(QueueFixture.scratch))
        let r = try parse(f, [DriverBuffer(address: QueueFixture.scratch, length: 16, writable: false),
                              DriverBuffer(address: QueueFixture.scratch + 0x100, length: 1, writable: true)])
        #expect(r.rejection == .unsupportedType(type))
        #expect(r.rejection?.status == .unsupported)
    }

    @Test("a request ending past capacity is IOERR")
    func outOfRange() throws {
        let f = try QueueFixture()
        let r = try request(f, type: .read, sector: Self.capacity - 7, dataLength: 4096)
        #expect(r.rejection == .outOfRange(sector: Self.capacity - 7, bytes: 4096, capacitySectors: Self.capacity))
        #expect(r.rejection?.status == .ioError)
    }

    @Test("a request exactly up to capacity is fine; one starting at capacity with data is not")
    func capacityEdge() throws {
        #expect(try request(QueueFixture(), type: .read, sector: Self.capacity - 8, dataLength: 4096).rejection == nil)
        #expect(try request(QueueFixture(), type: .read, sector: Self.capacity, dataLength: 512).rejection != nil)
    }

    @Test("the range check cannot overflow: sector near 2^64")
    func rangeOverflow() throws {
        let f = try QueueFixture()
        let huge = UInt64.max - 3  // sector + sectors would wrap to a small number
        let r = try request(f, type: .write, sector: huge, dataLength: 4096)
        #expect(r.rejection == .outOfRange(sector: huge, bytes: 4096, capacitySectors: Self.capacity))
        let config = VirtioBlkConfig(capacitySectors: UInt64.max)
        #expect(config.rangeIsValid(sector: UInt64.max - 8, bytes: 4096))
        #expect(!config.rangeIsValid(sector: UInt64.max - 7, bytes: 4096))
    }

    @Test("length not a multiple of the logical block size is IOERR")
    func unalignedLength() throws {
        let config = VirtioBlkConfig(capacitySectors: Self.capacity, logicalBlockSize: 4096)
        let r = try request(QueueFixture(), type: .read, sector: 8, dataLength: 512, config: config)
        #expect(r.rejection == .misaligned(sector: 8, bytes: 512, logicalBlockSize: 4096))
        #expect(r.rejection?.status == .ioError)
    }

    @Test("start sector not aligned to the logical block size is IOERR")
    func unalignedSector() throws {
        let config = VirtioBlkConfig(capacitySectors: Self.capacity, logicalBlockSize: 4096)
        let r = try request(QueueFixture(), type: .write, sector: 9, dataLength: 4096, config: config)
        #expect(r.rejection == .misaligned(sector: 9, bytes: 4096, logicalBlockSize: 4096))
    }

    @Test("more data segments than seg_max is IOERR")
    func segMax() throws {
        let f = try QueueFixture(queueSize: 16)
        let base = QueueFixture.scratch
        VirtioBlk.storeHeader(type: VirtioBlkRequestType.read.rawValue, sector: 0, to: f.host(base))
        var buffers = [DriverBuffer(address: base, length: 16, writable: false)]
        for i in 0..<5 { buffers.append(DriverBuffer(address: base + 0x1000 + UInt64(i) * 512, length: 512, writable: true)) }
        buffers.append(DriverBuffer(address: base + 0x100, length: 1, writable: true))
        let r = try parse(f, buffers, config: VirtioBlkConfig(capacitySectors: Self.capacity, segMax: 4))
        #expect(r.rejection == .tooManySegments(count: 5, segMax: 4))
        #expect(r.rejection?.status == .ioError)
    }

    @Test("a data segment larger than size_max is IOERR")
    func sizeMax() throws {
        let r = try request(QueueFixture(), type: .read, sector: 0, dataLength: 8192,
                            config: VirtioBlkConfig(capacitySectors: Self.capacity, sizeMax: 4096))
        #expect(r.rejection == .segmentTooLarge(segment: 0, length: 8192, sizeMax: 4096))
    }

    @Test("a transfer above the maximum request size is IOERR")
    func maxTransfer() throws {
        let r = try request(QueueFixture(), type: .read, sector: 0, dataLength: 8192,
                            config: VirtioBlkConfig(capacitySectors: Self.capacity, maxTransferSectors: 8))
        #expect(r.rejection == .tooLarge(bytes: 8192, maxBytes: 4096))
    }

    @Test("FLUSH needs no data; it is UNSUPP when not offered")
    func flush() throws {
        let r = try request(QueueFixture(), type: .flush, sector: 0, dataLength: 0)
        #expect(r.type == .flush && r.rejection == nil && r.usedLength == 1)
        let r2 = try request(QueueFixture(), type: .flush, sector: 0, dataLength: 0,
                             config: VirtioBlkConfig(capacitySectors: Self.capacity, features: []))
        #expect(r2.rejection == .commandNotOffered(.flush))
    }

    @Test("GET_ID writes at most 20 bytes of serial, NUL-terminated when shorter")
    func getID() throws {
        let f = try QueueFixture()
        let config = VirtioBlkConfig(capacitySectors: Self.capacity, serial: "disk-7")
        let r = try request(f, type: .getID, sector: 0, dataLength: 20, config: config)
        f.host(QueueFixture.scratch + 0x1000).initializeMemory(as: UInt8.self, repeating: 0xAA, count: 20)
        #expect(BlockRequestParser(config: config).executeGetID(r, segments: f.ioStorage) == .ok)
        let bytes = Array(UnsafeRawBufferPointer(start: f.host(QueueFixture.scratch + 0x1000), count: 20))
        #expect(Array(bytes[0..<7]) == Array("disk-7".utf8) + [0])
        #expect(bytes[7] == 0xAA)  // QEMU copies strlen + 1 bytes only
        let long = VirtioBlkConfig(capacitySectors: Self.capacity, serial: String(repeating: "x", count: 30))
        let f2 = try QueueFixture()
        let r2 = try request(f2, type: .getID, sector: 0, dataLength: 32, config: long)
        _ = BlockRequestParser(config: long).executeGetID(r2, segments: f2.ioStorage)
        let bytes2 = Array(UnsafeRawBufferPointer(start: f2.host(QueueFixture.scratch + 0x1000), count: 21))
        #expect(bytes2[19] == UInt8(ascii: "x") && bytes2[20] == 0)
    }

    // MARK: DISCARD and WRITE_ZEROES

    private func discard(_ type: VirtioBlkRequestType, sector: UInt64, sectors: UInt32, flags: UInt32 = 0,
                         segments: Int = 1, config: VirtioBlkConfig = VirtioBlkConfig(capacitySectors: capacity)) throws -> BlockRequest {
        let f = try QueueFixture()
        let base = QueueFixture.scratch
        VirtioBlk.storeHeader(type: type.rawValue, sector: 0, to: f.host(base))
        for i in 0..<segments {
            VirtioBlk.storeDiscardSegment(sector: sector, sectors: sectors, flags: flags, to: f.host(base + 0x1000 + UInt64(16 * i)))
        }
        return try parse(f, [DriverBuffer(address: base, length: 16, writable: false),
                             DriverBuffer(address: base + 0x1000, length: UInt32(16 * segments), writable: false),
                             DriverBuffer(address: base + 0x100, length: 1, writable: true)], config: config)
    }

    @Test("DISCARD: the segment gives sector and length")
    func discardOK() throws {
        let r = try discard(.discard, sector: 64, sectors: 128)
        #expect(r.type == .discard && r.sector == 64 && r.dataLength == 65536 && r.rejection == nil)
    }

    @Test("WRITE_ZEROES with UNMAP is accepted; DISCARD with UNMAP is UNSUPP")
    func unmapFlag() throws {
        let r = try discard(.writeZeroes, sector: 0, sectors: 8, flags: VirtioBlk.writeZeroesFlagUnmap)
        #expect(r.rejection == nil && r.discardFlags == 1)
        let r2 = try discard(.discard, sector: 0, sectors: 8, flags: VirtioBlk.writeZeroesFlagUnmap)
        #expect(r2.rejection == .unmapOnDiscard && r2.rejection?.status == .unsupported)
    }

    @Test("unknown DISCARD/WRITE_ZEROES flags are UNSUPP")
    func unknownFlags() throws {
        #expect(try discard(.writeZeroes, sector: 0, sectors: 8, flags: 2).rejection == .unknownDiscardFlags(2))
    }

    @Test("DISCARD beyond max_discard_sectors is IOERR")
    func discardTooLarge() throws {
        let config = VirtioBlkConfig(capacitySectors: Self.capacity, maxDiscardSectors: 64)
        #expect(try discard(.discard, sector: 0, sectors: 65, config: config).rejection == .discardTooLarge(sectors: 65, max: 64))
    }

    @Test("DISCARD past capacity is IOERR")
    func discardOutOfRange() throws {
        let r = try discard(.discard, sector: Self.capacity - 4, sectors: 8)
        #expect(r.rejection == .outOfRange(sector: Self.capacity - 4, bytes: 4096, capacitySectors: Self.capacity))
    }

    @Test("more DISCARD segments than max_discard_seg is UNSUPP")
    func tooManyDiscardSegments() throws {
        #expect(try discard(.discard, sector: 0, sectors: 8, segments: 2).rejection == .tooManyDiscardSegments(count: 2, max: 1))
    }

    @Test("DISCARD/WRITE_ZEROES not offered is UNSUPP")
    func discardNotOffered() throws {
        let config = VirtioBlkConfig(capacitySectors: Self.capacity, features: [.blkFlush])
        #expect(try discard(.discard, sector: 0, sectors: 8, config: config).rejection == .commandNotOffered(.discard))
        #expect(try discard(.writeZeroes, sector: 0, sectors: 8, config: config).rejection == .commandNotOffered(.writeZeroes))
    }

    @Test("a DISCARD payload shorter than one segment breaks the device; a ragged one is UNSUPP")
    func discardPayloadShape() throws {
        let f = try QueueFixture()
        let base = QueueFixture.scratch
        VirtioBlk.storeHeader(type: VirtioBlkRequestType.discard.rawValue, sector: 0, to: f.host(base))
        #expect(throws: VirtioBlkError.discardSegmentTooShort(head: 0, bytes: 8)) {
            _ = try parse(f, [DriverBuffer(address: base, length: 24, writable: false),
                              DriverBuffer(address: base + 0x100, length: 1, writable: true)])
        }
        let f2 = try QueueFixture()
        VirtioBlk.storeHeader(type: VirtioBlkRequestType.discard.rawValue, sector: 0, to: f2.host(base))
        let r = try parse(f2, [DriverBuffer(address: base, length: 16 + 20, writable: false),
                               DriverBuffer(address: base + 0x100, length: 1, writable: true)])
        #expect(r.rejection == .discardPayloadNotSegments(bytes: 20))
    }
}

@Suite("virtio-blk parsing when the caller's segment storage is smaller than the request")
struct SegmentStorageOverflowTests {
    @Test("more data segments than the storage holds is IOERR and counts every segment")
    func overflow() throws {
        let f = try QueueFixture(queueSize: 16, ioCapacity: 2)
        let base = QueueFixture.scratch
        VirtioBlk.storeHeader(type: VirtioBlkRequestType.read.rawValue, sector: 0, to: f.host(base))
        var buffers = [DriverBuffer(address: base, length: 16, writable: false)]
        for i in 0..<5 { buffers.append(DriverBuffer(address: base + 0x1000 + UInt64(i) * 512, length: 512, writable: true)) }
        buffers.append(DriverBuffer(address: base + 0x100, length: 1, writable: true))
        _ = buffers.withUnsafeBufferPointer { f.driver.add($0, token: 0) }
        _ = f.driver.publish()
        let chain = try #require(try f.pop())
        let request = try BlockRequestParser(config: VirtioBlkConfig(capacitySectors: 2048)).parse(chain, into: f.ioStorage)
        #expect(request.rejection == .tooManySegments(count: 5, segMax: 254))
        #expect(request.segmentCount == 2)
        #expect(request.dataLength == 2560)
    }
}
