import CLinuxShim
import Foundation
import Layout
import Testing
import TestSupport
import Virtio
@testable import Engine

/// Plays a fixed list of requests in order and keeps each status and a copy of read data.
struct ScriptedSource: SequentialRequestSource {
    var script: [PlannedRequest]
    var position = 0
    let seed: UInt64
    final class Log: @unchecked Sendable {
        var statuses: [UInt8] = []
        var reads: [[UInt8]] = []
    }
    let log = Log()

    init(_ script: [PlannedRequest], seed: UInt64 = 7) {
        self.script = script
        self.seed = seed
    }

    var isExhausted: Bool { position == script.count }

    mutating func next() -> PlannedRequest? {
        guard position < script.count else { return nil }
        defer { position += 1 }
        return script[position]
    }

    mutating func fill(_ request: PlannedRequest, data: UnsafeMutableRawPointer) {
        SectorStamp.fill(data, sector: request.sector, length: Int(request.length), seed: seed)
    }

    mutating func completed(_ request: PlannedRequest, status: UInt8, data: UnsafeMutableRawPointer) {
        log.statuses.append(status)
        if request.type == .read {
            log.reads.append(Array(UnsafeRawBufferPointer(start: data, count: min(Int(request.length), 4096))))
        }
    }
}

func openFileCount() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1 }
func threadCount() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1 }

@Suite("Engine on real files", .serialized)
struct EngineIntegrationTests {
    static let capacity: UInt64 = 8 << 20

    static func job(_ backend: BackendKind, target: String?, queues: Int = 2, layout: IOThreadLayout? = nil, depth: Int = 16) -> EngineJob {
        EngineJob(devices: [VirtioBlkDeviceConfig(numQueues: queues, capacitySectors: capacity / 512)],
                  layout: layout ?? .roundRobin(iothreadCount: 2, numQueues: queues), backend: backend, target: target,
                  depth: depth, maxBlock: 65536, duration: nil)
    }

    @Test("data written through OUT comes back byte-identical through IN, and is on disk where it belongs", arguments: [BackendKind.ioUring, .threads])
    func writeThenVerify(backend: BackendKind) throws {
        let dir = ScratchDirectory()
        let target = dir.file("disk.img")
        let blocks = Self.capacity / 16384
        // Two queues each write their half of the disk sequentially, stamped.
        let written = try Engine.run(Self.job(backend, target: target)) { _, vq in
            IOPattern(kind: .write, blockSize: 16384, regionBytes: Self.capacity, seed: 1, queue: vq, queues: 2, limit: blocks / 2, verifySeed: 42)
        }
        #expect(written.failures.isEmpty)
        #expect(written.queues.allSatisfy { $0.writes == blocks / 2 && $0.errors == 0 })
        // Sequential writes at depth 16 are adjacent: most went out merged.
        #expect(written.iothreads.reduce(0) { $0 + $1.merged } > blocks / 4)

        // Sequential reads (merged too) check every stamp of each queue's half.
        let sequential = try Engine.run(Self.job(backend, target: target)) { _, vq in
            IOPattern(kind: .read, blockSize: 8192, regionBytes: Self.capacity, seed: 1, queue: vq, queues: 2, limit: Self.capacity / 8192 / 2, verifySeed: 42)
        }
        #expect(sequential.queues.allSatisfy { $0.reads == Self.capacity / 8192 / 2 && $0.errors == 0 })
        #expect(sequential.iothreads.reduce(0) { $0 + $1.merged } > 0)

        // Random reads through the engine check every sector's stamp.
        let read = try Engine.run(Self.job(backend, target: target)) { _, vq in
            IOPattern(kind: .randread, blockSize: 4096, regionBytes: Self.capacity, seed: 2, queue: vq, queues: 2, limit: 3000, verifySeed: 42)
        }
        #expect(read.queues.allSatisfy { $0.reads == 3000 && $0.errors == 0 })
        if backend == .ioUring {
            // Single-buffer reads went through registered guest memory.
            #expect(read.iothreads.reduce(0) { $0 + $1.fixedBufferRequests } > 0)
        }

        // The file itself, read without the engine, holds every sector's stamp at its offset.
        let bytes = try #require(FileManager.default.contents(atPath: target))
        #expect(bytes.count == Int(Self.capacity))
        let bad = bytes.withUnsafeBytes { SectorStamp.firstMismatch($0.baseAddress!, sector: 0, length: bytes.count, seed: 42) }
        #expect(bad == nil, "first wrong sector on disk: \(bad ?? 0)")
    }

    @Test("a read with the wrong expectation is caught (the check can fail)")
    func verificationCanFail() throws {
        let dir = ScratchDirectory()
        let target = dir.file("disk.img")
        _ = try Engine.run(Self.job(.ioUring, target: target, queues: 1, layout: .single(numQueues: 1))) { _, _ in
            IOPattern(kind: .write, blockSize: 65536, regionBytes: Self.capacity, seed: 1, limit: Self.capacity / 65536, verifySeed: 42)
        }
        var failures: UInt64 = 0
        let source = IOPattern(kind: .randread, blockSize: 4096, regionBytes: Self.capacity, seed: 3, limit: 100, verifySeed: 43)
        let result = try Engine.run(Self.job(.ioUring, target: target, queues: 1, layout: .single(numQueues: 1))) { _, _ in source }
        failures = result.queues[0].reads
        #expect(failures == 100)
        // The pattern's own counters are in the driver's copy; run one driver directly to read them.
        let devices = try Engine.makeDevices(for: Self.job(.null, target: nil, queues: 1, layout: .single(numQueues: 1)))
        var pattern = IOPattern(kind: .read, blockSize: 512, regionBytes: 4096, seed: 1, limit: 1, verifySeed: 9)
        let request = pattern.next()!
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 8)
        defer { buffer.deallocate() }
        SectorStamp.fill(buffer, sector: request.sector, length: 512, seed: 8)
        pattern.completed(request, status: 0, data: buffer)
        #expect(pattern.verifyFailures == 1 && pattern.firstBadSector == request.sector)
        _ = devices
    }

    @Test("FLUSH, DISCARD and WRITE_ZEROES complete and do what they say; bad requests get IOERR and the device keeps serving")
    func commandsAndErrors() throws {
        let dir = ScratchDirectory()
        let target = dir.file("disk.img")
        let lastSector = Self.capacity / 512
        let script: [PlannedRequest] = [
            PlannedRequest(type: .write, sector: 0, length: 4096),         // 0
            PlannedRequest(type: .flush, sector: 0, length: 0),            // 1
            PlannedRequest(type: .discard, sector: 0, length: 4096),       // 2
            PlannedRequest(type: .read, sector: 0, length: 4096),          // 3: zeros
            PlannedRequest(type: .write, sector: 64, length: 4096),        // 4
            PlannedRequest(type: .writeZeroes, sector: 64, length: 4096),  // 5
            PlannedRequest(type: .read, sector: 64, length: 4096),         // 6: zeros
            PlannedRequest(type: .write, sector: 128, length: 4096),       // 7
            PlannedRequest(type: .read, sector: lastSector, length: 4096), // 8: past the end → IOERR
            PlannedRequest(type: .read, sector: lastSector - 4, length: 4096), // 9: runs past the end → IOERR
            PlannedRequest(type: .read, sector: 8, length: 1000),          // 10: not a sector multiple → IOERR
            PlannedRequest(type: .read, sector: 128, length: 4096),        // 11: still serving: the stamp
        ]
        let source = ScriptedSource(script)
        let result = try Engine.run(Self.job(.ioUring, target: target, queues: 1, layout: .single(numQueues: 1), depth: 1)) { _, _ in source }
        #expect(result.failures.isEmpty && result.brokenDevices.isEmpty)
        #expect(source.log.statuses == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0])
        #expect(source.log.reads.count == 6)  // requests 3, 6, 8, 9, 10, 11
        #expect(source.log.reads[0].allSatisfy { $0 == 0 }, "discarded block reads as zeros")
        #expect(source.log.reads[1].allSatisfy { $0 == 0 }, "write-zeroes block reads as zeros")
        let stamped = source.log.reads[5].withUnsafeBytes { SectorStamp.firstMismatch($0.baseAddress!, sector: 128, length: 4096, seed: 7) }
        #expect(stamped == nil)
    }

    @Test("a hostile driver breaks only its own device; the other device on the same IOThread keeps serving")
    func hostileChainBreaksOnlyItsDevice() throws {
        let job = EngineJob(
            devices: [VirtioBlkDeviceConfig(name: "vda", numQueues: 1, capacitySectors: 1 << 21),
                      VirtioBlkDeviceConfig(name: "vdb", numQueues: 1, capacitySectors: 1 << 21)],
            layout: IOThreadLayout(iothreads: [IOThreadSpec(id: "io0")],
                                   devices: [DeviceLayout(name: "vda", iothreads: ["io0"], assignment: ["io0"]),
                                             DeviceLayout(name: "vdb", iothreads: ["io0"], assignment: ["io0"])]),
            backend: .null, target: nil, depth: 8, maxBlock: 4096, duration: nil)
        let devices = try Engine.makeDevices(for: job)
        let hostile = devices[0]
        let result = try Engine.run(job, devices: devices) { device, _ in
            HostileAfter(requests: device == 0 ? 500 : nil, device: device == 0 ? hostile : nil,
                         pattern: IOPattern(kind: .randread, blockSize: 4096, regionBytes: 1 << 30, seed: 5, limit: 20_000))
        }
        #expect(result.brokenDevices.keys.sorted() == ["vda"])
        #expect(result.brokenDevices["vda"]?.contains("vq 0") == true)
        #expect(result.failures.count == 1 && result.failures[0].contains("vda is broken"))
        #expect(result.queues[1].reads == 20_000 && result.queues[1].errors == 0)
        #expect(result.queues[0].reads < 20_000)
    }

    @Test("runs leave no threads or file descriptors behind", arguments: [BackendKind.ioUring, .threads, .null])
    func noLeaks(backend: BackendKind) throws {
        let dir = ScratchDirectory()
        let target = dir.file("disk.img")
        let job = Self.job(backend, target: backend == .null ? nil : target, queues: 4)
        _ = try Engine.run(job) { _, vq in IOPattern(kind: .randrw, blockSize: 4096, regionBytes: Self.capacity, seed: 1, queue: vq, limit: 200) }
        let fds = openFileCount()
        let threads = threadCount()
        for _ in 0..<3 {
            let result = try Engine.run(job) { _, vq in
                IOPattern(kind: .randrw, blockSize: 4096, regionBytes: Self.capacity, seed: 1, queue: vq, limit: 2000)
            }
            #expect(result.requests == 8000)
        }
        // Other suites run in parallel in this process and open files and threads of their own,
        // so allow a little slack; one leaked run would show 10 or more fds (2 eventfds per vq,
        // the backend's) and 6 or more threads (IOThreads, vCPU drivers, workers).
        // Sample a few times: another suite's short-lived thread or file must not fail this test,
        // while a leak never goes away.
        var settled = false
        for _ in 0..<40 where !settled {
            settled = openFileCount() <= fds + 3 && threadCount() <= threads + 3
            if !settled { usleep(50_000) }
        }
        #expect(settled, "fds \(fds) → \(openFileCount()), threads \(threads) → \(threadCount())")
    }

    @Test("a timed run stops on time and drains: every submitted request completes")
    func timedRunDrains() throws {
        let job = EngineJob(devices: [VirtioBlkDeviceConfig(numQueues: 3, capacitySectors: 1 << 21)], layout: .perVQ(numQueues: 3),
                            backend: .null, target: nil, depth: 64, maxBlock: 4096, duration: 0.3)
        let result = try Engine.run(job) { _, vq in IOPattern(kind: .randread, blockSize: 4096, regionBytes: 1 << 30, seed: 9, queue: vq) }
        #expect(result.failures.isEmpty)
        #expect(result.requests > 1000)
        // IOThreads completed exactly what drivers reaped: nothing lost in flight.
        #expect(result.iothreads.reduce(0) { $0 + $1.requests } == result.requests)
        #expect(result.iothreads.allSatisfy { $0.kicks > 0 })
    }
}

/// A pattern that, after `requests` requests, sends a read with a zero-length data buffer: a
/// descriptor the virtio rules forbid, as a buggy or hostile guest driver could.
struct HostileAfter: SequentialRequestSource {
    var requests: Int?
    let device: VirtioBlkDevice?
    var pattern: IOPattern
    var count = 0

    var isExhausted: Bool { pattern.isExhausted }

    mutating func next() -> PlannedRequest? {
        count += 1
        if let requests, count == requests, device != nil {
            return PlannedRequest(type: .read, sector: 0, length: 0)
        }
        return pattern.next()
    }

    mutating func fill(_ request: PlannedRequest, data: UnsafeMutableRawPointer) {}
    mutating func completed(_ request: PlannedRequest, status: UInt8, data: UnsafeMutableRawPointer) {}
}
