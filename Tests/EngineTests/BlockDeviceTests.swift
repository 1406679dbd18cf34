import BlockBackend
import Foundation
import Layout
import Testing
import TestSupport
@testable import Engine

@Suite("Block-device targets", .serialized)
struct BlockDeviceTests {
    @Test("the root disk and mounted devices are refused whatever the flags; nothing is opened for writing")
    func refusesMountedAndRoot() throws {
        var root = stat()
        stat("/", &root)
        let sysfs = URL(fileURLWithPath: "/sys/dev/block/\((root.st_dev >> 8) & 0xFFF):\(root.st_dev & 0xFF)").resolvingSymlinksInPath()
        let candidates = [sysfs.lastPathComponent, sysfs.deletingLastPathComponent().lastPathComponent].map { "/dev/" + $0 }
        guard let device = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            // A container whose root is not a block device (overlayfs): nothing to refuse here.
            return
        }
        let error = #expect(throws: BlockTargetError.self) {
            try BlockTarget(path: device, size: 4096, writes: true, safety: DeviceSafety(allowWrites: true, acceptSignatures: true))
        }
        #expect(error?.problem.contains("mounted") == true)
    }

    @Test("signatures are recognized in a device's first sectors")
    func signatures() {
        var ext4 = [UInt8](repeating: 0, count: 68 << 10)
        ext4[1080] = 0x53
        ext4[1081] = 0xEF
        #expect(DeviceSafety.signature(in: ext4) == "ext2/3/4 filesystem")
        var gpt = [UInt8](repeating: 0, count: 4096)
        gpt.replaceSubrange(512..<520, with: Array("EFI PART".utf8))
        #expect(DeviceSafety.signature(in: gpt) == "GPT partition table")
        var mbr = [UInt8](repeating: 0, count: 512)
        mbr[510] = 0x55
        mbr[511] = 0xAA
        #expect(DeviceSafety.signature(in: mbr) == nil)  // boot signature, but no partition
        mbr[446 + 4] = 0x83
        #expect(DeviceSafety.signature(in: mbr) == "MBR partition table")
        #expect(DeviceSafety.signature(in: [UInt8](repeating: 0, count: 68 << 10)) == nil)
    }

    @Test("a loop device: a signature needs the override, writes need --allow-writes, then data round-trips and DISCARD/WRITE_ZEROES zero it",
          .enabled(if: LoopDevice.available, "needs root, /dev/loop-control and losetup"))
    func loopDevice() throws {
        let capacity = 16 << 20
        // A device with an ext4 signature is refused, then accepted with the override.
        let signed = try LoopDevice(bytes: capacity, prefix: [0x53, 0xEF], at: 1080)
        let refused = #expect(throws: BlockTargetError.self) {
            try BlockTarget(path: signed.path, size: UInt64(capacity), writes: true, safety: DeviceSafety(allowWrites: true))
        }
        #expect(refused?.problem.contains("ext2/3/4 filesystem") == true)
        _ = try BlockTarget(path: signed.path, size: UInt64(capacity), writes: true, safety: DeviceSafety(allowWrites: true, acceptSignatures: true))

        // A blank device: writes need the flag; no safety at all refuses devices.
        let blank = try LoopDevice(bytes: capacity)
        #expect(throws: BlockTargetError.self) { try BlockTarget(path: blank.path, size: UInt64(capacity), writes: true, safety: DeviceSafety()) }
        #expect(throws: BlockTargetError.self) { try BlockTarget(path: blank.path, size: UInt64(capacity), writes: true, safety: nil) }
        #expect(throws: BlockTargetError.self) {
            try BlockTarget(path: blank.path, size: UInt64(capacity) * 2, writes: false, safety: DeviceSafety())
        }

        for backend in [BackendKind.ioUring, .threads] {
            var job = EngineJob(devices: [VirtioBlkDeviceConfig(numQueues: 2, capacitySectors: UInt64(capacity) / 512)],
                                layout: .roundRobin(iothreadCount: 2, numQueues: 2), backend: backend, target: blank.path,
                                depth: 8, maxBlock: 65536, duration: nil)
            job.deviceSafety = DeviceSafety(allowWrites: true)
            let blocks = UInt64(capacity / 65536)
            let written = try Engine.run(job) { _, vq in
                IOPattern(kind: .write, blockSize: 65536, regionBytes: UInt64(capacity), seed: 1, queue: vq, queues: 2, limit: blocks / 2, verifySeed: 77)
            }
            #expect(written.failures.isEmpty && written.queues.allSatisfy { $0.errors == 0 })
            job.writes = false
            let read = try Engine.run(job) { _, vq in
                IOPattern(kind: .randread, blockSize: 4096, regionBytes: UInt64(capacity), seed: 2, queue: vq, limit: 500, verifySeed: 77)
            }
            #expect(read.queues.allSatisfy { $0.reads == 500 && $0.errors == 0 })

            job.writes = true
            let script = ScriptedSource([
                PlannedRequest(type: .discard, sector: 0, length: 65536),
                PlannedRequest(type: .read, sector: 0, length: 65536),
                PlannedRequest(type: .writeZeroes, sector: 1024, length: 65536),
                PlannedRequest(type: .read, sector: 1024, length: 65536),
                PlannedRequest(type: .flush, sector: 0, length: 0),
            ])
            job.devices[0].numQueues = 1
            job.layout = .single(numQueues: 1)
            job.depth = 1
            let commands = try Engine.run(job) { _, _ in script }
            #expect(commands.failures.isEmpty)
            #expect(script.log.statuses == [0, 0, 0, 0, 0], "\(backend)")
            #expect(script.log.reads.count == 2 && script.log.reads.allSatisfy { $0.allSatisfy { $0 == 0 } }, "\(backend): zeroed ranges read as zeros")
        }
    }
}
