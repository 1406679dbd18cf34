import BlockBackend
import Foundation
import Testing
import TestSupport
import Trace
@testable import Engine
@testable import Replay

/// Small traces whose reads and writes land where a test wants them.
enum TargetTraces {
    /// One vq; `reads` 4 KiB reads spread over each of `readRegions`, then `writes` 4 KiB writes
    /// spread over `writeRegion`, 20 µs apart.
    @discardableResult
    static func write(_ path: String, capacity: UInt64, readRegions: [Range<UInt64>], reads: Int,
                      writeRegion: Range<UInt64>? = nil, writes: Int = 0) throws -> [TraceRecord] {
        var rng = SplitMix64(state: 17)
        var time: UInt64 = 1_000_000
        var records: [TraceRecord] = []
        func add(_ type: TraceRequestType, in region: Range<UInt64>) {
            time += 20_000
            let blocks = (region.upperBound - region.lowerBound) / 4096
            let offset = region.lowerBound + UInt64.random(in: 0..<blocks, using: &rng) * 4096
            records.append(TraceRecord(vq: 0, type: type, sector: offset / 512, length: 4096, submitNs: time, completionNs: time + 50_000))
        }
        for region in readRegions { for _ in 0..<reads { add(.read, in: region) } }
        if let writeRegion { for _ in 0..<writes { add(.write, in: writeRegion) } }
        records.sort { $0.submitNs < $1.submitNs }
        let metadata = TraceMetadata(devices: [.init(capacitySectors: capacity / 512, numQueues: 1)], source: .init(kind: "synthetic", name: "target test"))
        let writer = try TraceWriter(path: path, metadata: metadata, options: .init(recordsPerChunk: 500, fsync: .none))
        for r in records { try writer.append(r) }
        try writer.finish()
        return records
    }

    static func afap() -> ReplayOptions {
        var options = ReplayOptions()
        options.timing = .afap
        return options
    }
}

/// What FIEMAP (or SEEK_DATA) says about `ranges` of the file at `path`.
func scan(_ path: String, _ ranges: [Range<UInt64>]) throws -> FileAllocation {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    try #require(fd >= 0, "cannot open \(path)")
    defer { close(fd) }
    return try FileAllocation.scan(fd: fd, path: path, ranges: ranges)
}

/// A file the user made: `bytes` of pseudo-random data (every block written), optionally
/// starting with `header`.
func userFile(_ path: String, bytes: Int, header: [UInt8] = []) {
    var rng = SplitMix64(state: 5)
    var data = [UInt8](repeating: 0, count: bytes)
    data.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for i in words.indices { words[i] = rng.next() }
    }
    data.replaceSubrange(0..<header.count, with: header)
    FileManager.default.createFile(atPath: path, contents: Data(data))
}

/// The sectors the disk under `directory` has read so far, or nil (with the reason printed).
func sectorsRead(under directory: String) -> UInt64? {
    switch DiskCounters.holding(directory) {
    case .success(let disk): return disk.sectorsRead()
    case .failure(let why):
        print("no disk counters to check: \(why)")
        return nil
    }
}

@Suite("Replay onto file targets", .serialized)
struct ReplayTargetTests {
    static let small: UInt64 = 16 << 20

    @Test("a user's fallocated file: a read-only replay is refused, naming the file, the unwritten bytes and --allow-writes, and leaves it as it was; with --allow-writes it is filled, then measured")
    func fallocatedUserFile() throws {
        let dir = ScratchDirectory()
        try TargetTraces.write(dir.file("t.vqt"), capacity: Self.small, readRegions: [0..<Self.small], reads: 300)
        let path = dir.file("user.img")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #expect(posix_fallocate(fd, 0, off_t(Self.small)) == 0)
        close(fd)
        let before = try scan(path, [0..<Self.small])
        try #require(before.unwrittenBytes == Self.small, "fallocate left \(before) here")
        let hash = try sha256(ofFile: path)

        for safety in [DeviceSafety(), nil] {
            let error = #expect(throws: TargetPreparationError.self) {
                try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: path, layoutSpec: "single", backend: .ioUring,
                                     options: TargetTraces.afap(), safety: safety)
            }
            #expect(error == .unwritten(path: path, unwrittenBytes: Self.small, neededBytes: Self.small))
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains(path) && text.contains("16777216 bytes") && text.contains("--allow-writes"), "\(text)")
        }
        #expect(try sha256(ofFile: path) == hash)
        #expect(try scan(path, [0..<Self.small]).unwrittenBytes == Self.small, "a refusal filled the file")

        let sectors = sectorsRead(under: dir.path)
        let result = try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: path, layoutSpec: "single", backend: .ioUring,
                                          options: TargetTraces.afap(), safety: DeviceSafety(allowWrites: true))
        let p = result.targetPreparation
        #expect(!p.createdByVqtrace && p.unwrittenBytesBefore == Self.small && p.filledBytes == Self.small && p.unwrittenBytesAfter == 0, "\(p)")
        #expect(p.summary.contains("existing file not created by vqtrace"), "\(p.summary)")
        #expect(result.replayed == 300 && result.engine.failures.isEmpty && result.engine.queues[0].errors == 0)
        #expect(!TargetProvenance.isMarked(path: path), "filling a user's file does not make it vqtrace's")
        if let sectors, let now = sectorsRead(under: dir.path) {
            #expect((now - sectors) * 512 >= 300 * 4096, "the disk read \((now - sectors) * 512) bytes for 300 O_DIRECT reads of 4 KiB")
        }
    }

    @Test("a file vqtrace did not create: a replay that writes is refused without --allow-writes; one with a qcow2 header also without --destroy-data; refusals leave it byte-for-byte unchanged; a read-only replay needs no flag")
    func userFileRules() throws {
        let dir = ScratchDirectory()
        try TargetTraces.write(dir.file("rw.vqt"), capacity: Self.small, readRegions: [0..<Self.small], reads: 100,
                               writeRegion: 0..<Self.small, writes: 100)
        let plain = dir.file("plain.img")
        userFile(plain, bytes: Int(Self.small))
        let plainHash = try sha256(ofFile: plain)
        let refused = #expect(throws: TargetPreparationError.self) {
            try ReplayRunner.run(tracePath: dir.file("rw.vqt"), target: plain, layoutSpec: "single", backend: .ioUring,
                                 options: TargetTraces.afap(), safety: DeviceSafety())
        }
        #expect(refused == .writesToUserFile(path: plain))
        #expect("\(refused.map { "\($0)" } ?? "")".contains("--allow-writes"))
        #expect(try sha256(ofFile: plain) == plainHash)

        let qcow2 = dir.file("guest.qcow2")
        userFile(qcow2, bytes: Int(Self.small), header: [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3])
        let qcow2Hash = try sha256(ofFile: qcow2)
        for safety in [DeviceSafety(), DeviceSafety(allowWrites: true)] {
            let error = #expect(throws: TargetPreparationError.self) {
                try ReplayRunner.run(tracePath: dir.file("rw.vqt"), target: qcow2, layoutSpec: "single", backend: .ioUring,
                                     options: TargetTraces.afap(), safety: safety)
            }
            if safety.allowWrites {
                #expect(error == .signature(path: qcow2, found: "qcow2 disk image"))
                #expect("\(error.map { "\($0)" } ?? "")".contains("--destroy-data"))
            }
            #expect(try sha256(ofFile: qcow2) == qcow2Hash)
        }

        // Read-only: allowed on either, and nothing changes.
        var readOnly = TargetTraces.afap()
        readOnly.writes = .skip
        let read = try ReplayRunner.run(tracePath: dir.file("rw.vqt"), target: qcow2, layoutSpec: "single", backend: .ioUring,
                                        options: readOnly, safety: nil)
        #expect(read.replayed == 100 && read.engine.queues[0].errors == 0)
        #expect(read.targetPreparation.filledBytes == 0 && !read.targetPreparation.createdByVqtrace)
        #expect(try sha256(ofFile: qcow2) == qcow2Hash)

        // Both flags: the user said so.
        let written = try ReplayRunner.run(tracePath: dir.file("rw.vqt"), target: qcow2, layoutSpec: "single", backend: .ioUring,
                                           options: TargetTraces.afap(), safety: DeviceSafety(allowWrites: true, acceptSignatures: true))
        #expect(written.replayed == 200 && written.engine.queues[0].errors == 0)
    }

    @Test("a file vqtrace created runs writes without flags, and its second run fills nothing")
    func ownFile() throws {
        let dir = ScratchDirectory()
        try TargetTraces.write(dir.file("rw.vqt"), capacity: Self.small, readRegions: [0..<Self.small], reads: 100,
                               writeRegion: 0..<Self.small, writes: 100)
        let path = dir.file("mine.img")
        let first = try ReplayRunner.run(tracePath: dir.file("rw.vqt"), target: path, layoutSpec: "single", backend: .ioUring,
                                         options: TargetTraces.afap(), safety: nil)
        #expect(first.targetPreparation.createdNow && first.targetPreparation.filledBytes == Self.small)
        #expect(first.engine.queues[0].writes == 100 && first.engine.queues[0].errors == 0)
        let second = try ReplayRunner.run(tracePath: dir.file("rw.vqt"), target: path, layoutSpec: "single", backend: .ioUring,
                                          options: TargetTraces.afap(), safety: DeviceSafety())
        #expect(second.targetPreparation.createdByVqtrace && !second.targetPreparation.createdNow)
        #expect(second.targetPreparation.filledBytes == 0 && second.targetPreparation.unwrittenBytesBefore == 0)
        #expect(second.engine.queues[0].writes == 100 && second.engine.queues[0].errors == 0)
    }

    @Test("--sparse-target fills only the trace's read ranges: the file's allocation stays far below its capacity, every read range holds data, and the reads reach the disk")
    func sparseTarget() throws {
        let dir = ScratchDirectory()
        let capacity: UInt64 = 1 << 30
        let mib: UInt64 = 1 << 20
        let records = try TargetTraces.write(dir.file("t.vqt"), capacity: capacity,
                                             readRegions: [(100 * mib)..<(102 * mib), (700 * mib + 512 << 10)..<(701 * mib)], reads: 200,
                                             writeRegion: (300 * mib)..<(301 * mib), writes: 50)
        let path = dir.file("sparse.img")
        let sectors = sectorsRead(under: dir.path)
        let result = try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: path, layoutSpec: "single", backend: .ioUring,
                                          options: TargetTraces.afap(), safety: nil, sparseTarget: true)
        #expect(result.replayed == 450 && result.engine.queues[0].errors == 0)
        let p = result.targetPreparation
        // 1 MiB granules: [100, 102) MiB and [700, 701) MiB.
        #expect(p.sparse && p.capacityBytes == capacity && p.neededBytes == 3 * mib && p.filledBytes == 3 * mib && p.unwrittenBytesAfter == 0, "\(p)")
        #expect(p.summary.contains("the trace's read ranges, 3 MiB of 1 GiB"), "\(p.summary)")

        var st = stat()
        stat(path, &st)
        #expect(UInt64(st.st_size) == capacity)
        let allocated = UInt64(st.st_blocks) * 512
        #expect(allocated <= 5 * mib, "a sparse target allocated \(allocated) bytes of \(capacity)")
        // Every read the trace makes lands on data; the space it never reads is still a hole.
        let reads = records.filter { $0.type == .read }.map { ($0.sector * 512)..<($0.sector * 512 + UInt64($0.length)) }
        #expect(try scan(path, reads).unwrittenBytes == 0)
        #expect(try scan(path, [0..<(100 * mib)]).holeBytes == 100 * mib)
        if let sectors, let now = sectorsRead(under: dir.path) {
            #expect((now - sectors) * 512 >= 400 * 4096, "the disk read \((now - sectors) * 512) bytes for 400 O_DIRECT reads of 4 KiB")
        }

        let again = try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: path, layoutSpec: "single", backend: .ioUring,
                                         options: TargetTraces.afap(), safety: nil, sparseTarget: true)
        #expect(again.targetPreparation.filledBytes == 0 && again.targetPreparation.unwrittenBytesBefore == 0)
    }
}
