import BlockBackend
import Foundation
import Layout
import Testing
import TestSupport
@testable import Engine

/// What FIEMAP (or SEEK_DATA on tmpfs) says about `ranges` of the file at `path`.
func allocation(_ path: String, _ ranges: [Range<UInt64>]) throws -> FileAllocation {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    try #require(fd >= 0, "cannot open \(path)")
    defer { close(fd) }
    return try FileAllocation.scan(fd: fd, path: path, ranges: ranges)
}

/// Whether the folder is on a filesystem in memory (then there is no disk to reach).
func inMemory(_ path: String) -> Bool {
    if case .failure = DiskCounters.holding(path) { return true }
    return false
}

@Suite("File targets hold data before they are measured", .serialized)
struct TargetPreparationTests {
    static let capacity: UInt64 = 32 << 20

    static func job(_ target: String, writes: Bool, safety: DeviceSafety? = nil, capacity: UInt64 = capacity) -> EngineJob {
        var job = EngineJob(devices: [VirtioBlkDeviceConfig(numQueues: 1, capacitySectors: capacity / 512)], layout: .single(numQueues: 1),
                            backend: .ioUring, target: target, depth: 16, maxBlock: 1 << 20, duration: nil)
        job.writes = writes
        job.deviceSafety = safety
        return job
    }

    @Test("a new file target has no unwritten extents and no holes before the run (FIEMAP, and filefrag -v agrees), and the run's O_DIRECT reads reach the disk (its /proc/diskstats counter)")
    func newFileHoldsData() throws {
        let dir = ScratchDirectory()
        let path = dir.file("new.img")
        var progress: [TargetFill.Progress] = []
        let seen = ProgressLog()
        var job = Self.job(path, writes: false)
        job.fillProgress = { seen.append($0) }
        let counters = DiskCounters.holding(dir.path)
        let sectorsBefore = (try? counters.get())?.sectorsRead()
        // 1024 random 4 KiB reads: 4 MiB that must come from the disk.
        let result = try Engine.run(job) { _, _ in IOPattern(kind: .randread, blockSize: 4096, regionBytes: Self.capacity, seed: 3, limit: 1024) }
        let sectorsAfter = (try? counters.get())?.sectorsRead()
        progress = seen.all
        #expect(result.failures.isEmpty && result.queues[0].reads == 1024 && result.queues[0].errors == 0)

        let p = result.targetPreparation
        #expect(p.kind == (inMemory(dir.path) ? .tmpfs : .file))
        #expect(p.createdNow && p.createdByVqtrace && p.marked && TargetProvenance.isMarked(path: path))
        #expect(p.neededBytes == Self.capacity && p.unwrittenBytesBefore == Self.capacity)
        #expect(p.filledBytes == Self.capacity && p.fillSeconds > 0 && p.unwrittenBytesAfter == 0)
        #expect(p.summary.hasPrefix("target \(path): new file created by vqtrace"), "\(p.summary)")
        #expect(p.summary.contains("32 MiB filled with data in"), "\(p.summary)")
        #expect(progress.last == TargetFill.Progress(bytesDone: Self.capacity, bytesTotal: Self.capacity))
        #expect(zip(progress, progress.dropFirst()).allSatisfy { $0.bytesDone < $1.bytesDone })

        // The test's own look, through FIEMAP, then through filefrag.
        let map = try allocation(path, [0..<Self.capacity])
        #expect(map.unwrittenBytes == 0 && map.holes.isEmpty && map.unwrittenExtents.isEmpty, "\(map)")
        if map.method == .fiemap, let frag = try FilefragReport.of(path) {
            #expect(frag.unwrittenBlocks == 0 && frag.holeBlocks == 0 && frag.extents > 0, "\(frag.text)")
        }

        switch counters {
        case .success(let disk):
            let read = (sectorsAfter ?? 0) &- (sectorsBefore ?? 0)
            #expect(read * 512 >= 4 << 20, "\(disk.device) read \(read * 512) bytes during a run of 4 MiB of O_DIRECT reads")
        case .failure(let why):
            // No disk under the test folder: the fill and the extent map are all there is to check.
            print("TargetPreparationTests: no disk counters to check: \(why)")
        }
    }

    @Test("a file vqtrace created takes writes without flags; the next run fills nothing; holes a DISCARD or WRITE_ZEROES left are filled before the run after")
    func preparedOnceCheckedEveryRun() throws {
        let dir = ScratchDirectory()
        let path = dir.file("mine.img")
        let first = try Engine.run(Self.job(path, writes: true)) { _, _ in
            IOPattern(kind: .randwrite, blockSize: 4096, regionBytes: Self.capacity, seed: 1, limit: 200)
        }
        #expect(first.failures.isEmpty && first.queues[0].errors == 0)
        #expect(first.targetPreparation.createdNow && first.targetPreparation.filledBytes == Self.capacity)

        let second = try Engine.run(Self.job(path, writes: true)) { _, _ in
            IOPattern(kind: .randrw, blockSize: 4096, regionBytes: Self.capacity, seed: 2, limit: 200)
        }
        #expect(second.failures.isEmpty && second.queues[0].errors == 0)
        let p = second.targetPreparation
        #expect(!p.createdNow && p.createdByVqtrace && p.unwrittenBytesBefore == 0 && p.filledBytes == 0 && p.unwrittenBytesAfter == 0)
        #expect(p.summary.contains("file created by vqtrace") && p.summary.contains("already holds data")
                && (p.summary.contains("no unwritten extents") || p.summary.contains("no holes")), "\(p.summary)")

        // A guest's DISCARD punches a hole, WRITE_ZEROES leaves an unwritten extent (or a hole).
        let script = ScriptedSource([
            PlannedRequest(type: .discard, sector: 2048, length: 1 << 20),
            PlannedRequest(type: .writeZeroes, sector: 8192, length: 256 << 10),
        ])
        let deallocated = try Engine.run(Self.job(path, writes: true)) { _, _ in script }
        #expect(script.log.statuses == [0, 0] && deallocated.targetPreparation.filledBytes == 0)
        let gap = try allocation(path, [0..<Self.capacity])
        #expect(gap.unwrittenBytes >= 1 << 20, "the DISCARD left no hole: \(gap)")

        let after = try Engine.run(Self.job(path, writes: false)) { _, _ in
            IOPattern(kind: .randread, blockSize: 4096, regionBytes: Self.capacity, seed: 4, limit: 100)
        }
        let refill = after.targetPreparation
        #expect(refill.unwrittenBytesBefore == gap.unwrittenBytes && refill.filledBytes == gap.unwrittenBytes && refill.unwrittenBytesAfter == 0,
                "\(refill)")
        #expect(try allocation(path, [0..<Self.capacity]).unwrittenBytes == 0)
    }

    @Test("the fill data is neither compressible nor repeated: each 4 KiB block starts with its offset, and the file's first block is a note with no signature")
    func fillData() throws {
        let bytes = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 4096)
        defer { buffer.deallocate() }
        TargetFill.generate(into: buffer, offset: 0, seed: 99)
        let data = Array(buffer)
        #expect(DeviceSafety.signature(in: data) == nil)
        #expect(String(decoding: data[0..<16], as: UTF8.self) == "vqtrace fill dat")
        var blocks = Set<[UInt8]>()
        for block in 1..<(bytes / 4096) {
            let offset = data[(block * 4096)..<(block * 4096 + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            #expect(offset == UInt64(block * 4096))
            blocks.insert(Array(data[(block * 4096 + 16)..<(block * 4096 + 4096)]))
        }
        #expect(blocks.count == bytes / 4096 - 1, "repeated blocks: dedupable")
        // gzip cannot shrink it (beyond the first block's zeros).
        let dir = ScratchDirectory()
        FileManager.default.createFile(atPath: dir.file("d"), contents: Data(data[4096...]))
        let gzipped = try runChild("/bin/gzip", ["-c", dir.file("d")])
        #expect(gzipped.output.count > (bytes - 4096) * 99 / 100, "gzip made \(bytes - 4096) bytes into \(gzipped.output.count)")
        // Another fill's data differs (another seed): two targets do not dedupe against each other.
        let other = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 4096)
        defer { other.deallocate() }
        TargetFill.generate(into: other, offset: 4096, seed: 100)
        #expect(Array(other[16..<4096]) != Array(data[(4096 + 16)..<8192]))
    }

    @Test("disk-image containers are recognized by their headers (and a VHD by its footer)")
    func containerSignatures() {
        func head(_ bytes: [UInt8], at offset: Int = 0) -> [UInt8] {
            var h = [UInt8](repeating: 0, count: 4096)
            h.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            return h
        }
        let cases: [([UInt8], String)] = [
            (head([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]), "qcow2 disk image"),
            (head(Array("KDMV".utf8)), "VMDK disk image"),
            (head(Array("# Disk DescriptorFile\nversion=1\n".utf8)), "VMDK disk descriptor"),
            (head(Array("vhdxfile".utf8)), "VHDX disk image"),
            (head(Array("conectix".utf8)), "VHD disk image"),
            (head([0x7F, 0x10, 0xDA, 0xBE], at: 64), "VDI disk image"),
            (head([0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE]), "LUKS header"),
            (head(Array("XFSB".utf8)), "XFS filesystem"),
        ]
        for (bytes, name) in cases {
            #expect(DeviceSafety.signature(in: bytes) == name)
        }
        #expect(DeviceSafety.imageContainer(in: cases[0].0) == "qcow2 disk image")
        #expect(DeviceSafety.imageContainer(in: cases[6].0) == nil, "LUKS is not a container a raw server should refuse")
        // A fixed VHD: raw data, and its only footer in the last 512 bytes.
        var footer = [UInt8](repeating: 0, count: 512)
        footer.replaceSubrange(0..<8, with: Array("conectix".utf8))
        #expect(DeviceSafety.signature(in: [UInt8](repeating: 0, count: 4096), tail: footer) == "VHD disk image")
        #expect(DeviceSafety.signature(in: [UInt8](repeating: 0, count: 4096), tail: [UInt8](repeating: 0, count: 512)) == nil)
    }

    @Test("a target in memory (tmpfs) is filled like any other and says that there is no disk at all",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/shm") && inMemory("/dev/shm"), "needs /dev/shm on tmpfs"))
    func tmpfsTarget() throws {
        let path = "/dev/shm/vqtrace-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img"
        defer { unlink(path) }
        let result: EngineResult
        do {
            result = try Engine.run(Self.job(path, writes: false, capacity: 8 << 20)) { _, _ in
                IOPattern(kind: .randread, blockSize: 4096, regionBytes: 8 << 20, seed: 3, limit: 100)
            }
        } catch let error as BlockTargetError where error.problem.contains("O_DIRECT") {
            // An older kernel whose tmpfs refuses O_DIRECT: the engine cannot use it at all.
            print("tmpfsTarget: \(error)")
            return
        }
        let p = result.targetPreparation
        #expect(p.kind == .tmpfs && p.filesystem == "tmpfs" && p.filledBytes == 8 << 20 && p.unwrittenBytesAfter == 0, "\(p)")
        #expect(p.summary.contains("no disk at all"), "\(p.summary)")
        #expect(try allocation(path, [0..<(8 << 20)]).holes.isEmpty)
    }
}

/// Progress reports as the fill's thread made them.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [TargetFill.Progress] = []
    func append(_ p: TargetFill.Progress) { lock.lock(); items.append(p); lock.unlock() }
    var all: [TargetFill.Progress] { lock.lock(); defer { lock.unlock() }; return items }
}
