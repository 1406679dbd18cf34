import BlockBackend
import Foundation
import Layout
import Testing
import TestSupport
import Trace
import Virtio
@testable import Engine
@testable import Replay

/// Wraps a source and keeps every request it hands out, in order.
struct LoggingSource<Inner: RequestSource>: RequestSource {
    var inner: Inner
    final class Log: @unchecked Sendable { var requests: [PlannedRequest] = [] }
    let log = Log()
    mutating func step(inFlight: Int) -> SourceStep {
        let step = inner.step(inFlight: inFlight)
        if case .submit(let r) = step { log.requests.append(r) }
        return step
    }
    mutating func fill(_ request: PlannedRequest, data: UnsafeMutableRawPointer) { inner.fill(request, data: data) }
    mutating func completed(_ request: PlannedRequest, status: UInt8, data: UnsafeMutableRawPointer) { inner.completed(request, status: status, data: data) }
}

extension TraceReplaySource {
    /// `step`, asked again while the feed is behind (a test that calls the source directly
    /// waits for the reader as a driver thread would).
    mutating func stepWaitingForFeed(inFlight: Int) -> SourceStep {
        while true {
            let step = step(inFlight: inFlight)
            if case .notReady = step { usleep(100); continue }
            return step
        }
    }
}

enum ReplayFixtures {
    static let capacity: UInt64 = 1 << 21  // sectors: 1 GiB

    /// `count` records over 4 vqs, 10-60 µs apart, with completions 20-200 µs later.
    static func trace(at path: String, count: Int, seed: UInt64) throws -> [TraceRecord] {
        var rng = SplitMix64(state: seed)
        var time: UInt64 = 1_000_000
        var records: [TraceRecord] = []
        let types: [TraceRequestType] = [.read, .read, .read, .write, .write, .flush, .discard, .writeZeroes]
        for _ in 0..<count {
            time += UInt64.random(in: 10...60, using: &rng) * 1000
            let type = types.randomElement(using: &rng)!
            let length: UInt32 = type == .flush ? 0 : [512, 4096, 8192, 65536].randomElement(using: &rng)!
            let sector = type == .flush ? 0 : UInt64.random(in: 0..<(capacity - 128), using: &rng)
            records.append(TraceRecord(vq: UInt16.random(in: 0..<4, using: &rng), type: type, sector: sector, length: length,
                                       submitNs: time, completionNs: time + UInt64.random(in: 20...200, using: &rng) * 1000))
        }
        let metadata = TraceMetadata(devices: [.init(capacitySectors: capacity, numQueues: 4)], source: .init(kind: "synthetic", name: "test"))
        let writer = try TraceWriter(path: path, metadata: metadata, options: .init(recordsPerChunk: 500, fsync: .none))
        for r in records { try writer.append(r) }
        try writer.finish()
        return records
    }

    static func job(_ options: ReplayOptions) -> EngineJob {
        var job = EngineJob(devices: [VirtioBlkDeviceConfig(numQueues: 4, capacitySectors: capacity)], layout: .roundRobin(iothreadCount: 2, numQueues: 4),
                            backend: .null, target: nil, depth: options.depth, maxBlock: options.maxRequestBytes, duration: nil)
        job.driverThreads = options.driverThreads
        return job
    }

    /// Replays through the engine and returns what each vq's driver was handed.
    static func replay(_ path: String, _ options: ReplayOptions) throws -> (result: EngineResult, perQueue: [[PlannedRequest]]) {
        let job = job(options)
        var logs: [LoggingSource<TraceReplaySource>.Log] = []
        let keys = Set((0..<4).filter { options.vqs?.contains($0) ?? true }.map { QueueKey(device: 0, vq: UInt16($0)) })
        let feed = try ReplayFeed(path: path, from: options.fromNs, to: options.toNs, queues: keys)
        defer { feed.stop() }
        let result = try Engine.run(job) { _, vq in
            let source = LoggingSource(inner: TraceReplaySource(feed: feed, device: 0, vq: UInt16(vq),
                                                                options: options, clock: job.clock, enabled: options.vqs?.contains(vq) ?? true))
            logs.append(source.log)
            return source
        }
        return (result, logs.map(\.requests))
    }

    static func planned(_ r: TraceRecord) -> PlannedRequest {
        PlannedRequest(type: VirtioBlkRequestType(rawValue: r.type.rawValue)!, sector: r.sector, length: r.type == .flush ? 0 : r.length)
    }
}

@Suite("Replay fidelity")
struct ReplayFidelityTests {
    @Test("each vq gets exactly its recorded sequence of types, sectors and lengths, for every timing and driver-thread setting",
          arguments: ReplayOptions.Timing.allCases, [DriverThreads.perVQ, .count(1), .count(3), .auto])
    func exactSequence(timing: ReplayOptions.Timing, drivers: DriverThreads) throws {
        let dir = ScratchDirectory()
        let records = try ReplayFixtures.trace(at: dir.file("t.vqt"), count: 3000, seed: 5)
        var options = ReplayOptions()
        options.timing = timing
        options.driverThreads = drivers
        let (result, perQueue) = try ReplayFixtures.replay(dir.file("t.vqt"), options)
        #expect(result.failures.isEmpty)
        #expect(result.driverThreads == drivers.resolve(vqs: 4, iothreads: 2))
        #expect(result.requests == 3000)
        for vq in 0..<4 {
            let expected = records.filter { $0.vq == vq }.map(ReplayFixtures.planned)
            let got = perQueue[vq].map { PlannedRequest(type: $0.type, sector: $0.sector, length: $0.length) }
            #expect(got == expected, "vq \(vq)")
        }
    }

    @Test("--from/--to replays only the window; --vqs only those queues")
    func windowAndQueues() throws {
        let dir = ScratchDirectory()
        let records = try ReplayFixtures.trace(at: dir.file("t.vqt"), count: 3000, seed: 6)
        var options = ReplayOptions()
        options.timing = .afap
        options.fromNs = records[1000].submitNs
        options.toNs = records[2000].submitNs
        options.vqs = [1, 3]
        let (result, perQueue) = try ReplayFixtures.replay(dir.file("t.vqt"), options)
        let window = records.filter { $0.submitNs >= options.fromNs && $0.submitNs < options.toNs }
        #expect(result.requests == UInt64(window.filter { $0.vq == 1 || $0.vq == 3 }.count))
        #expect(perQueue[0].isEmpty && perQueue[2].isEmpty)
        #expect(perQueue[1].map { PlannedRequest(type: $0.type, sector: $0.sector, length: $0.length) } == window.filter { $0.vq == 1 }.map(ReplayFixtures.planned))
    }

    @Test("open-loop deadlines are the recorded offsets divided by the speed, from the run's start")
    func deadlines() throws {
        let dir = ScratchDirectory()
        let records = try ReplayFixtures.trace(at: dir.file("t.vqt"), count: 200, seed: 7)
        for speed in [1.0, 2.0, 0.5] {
            var options = ReplayOptions()
            options.speed = speed
            options.fromNs = records[10].submitNs
            let clock = RunClock()
            clock.start(at: 5_000_000_000)
            let feed = try ReplayFeed(path: dir.file("t.vqt"), from: options.fromNs, to: options.toNs, queues: [QueueKey(device: 0, vq: 2)])
            var source = TraceReplaySource(feed: feed, device: 0, vq: 2, options: options, clock: clock, offsetNs: 777)
            let expected = records.filter { $0.vq == 2 && $0.submitNs >= options.fromNs }
            var got: [UInt64] = []
            while case .submit(let r) = source.stepWaitingForFeed(inFlight: 0) { got.append(r.deadlineNs) }
            #expect(got == expected.map { 5_000_000_000 + 777 + UInt64(Double($0.submitNs - options.fromNs) / speed) })
        }
    }

    @Test("closed loop keeps the recorded in-flight depth")
    func closedDepth() throws {
        let dir = ScratchDirectory()
        // vq 0: three requests overlap (depth 0, 1, 2 at their submits), then one after all completed.
        let records = [
            TraceRecord(vq: 0, type: .read, sector: 0, length: 4096, submitNs: 1000, completionNs: 10_000),
            TraceRecord(vq: 0, type: .read, sector: 8, length: 4096, submitNs: 2000, completionNs: 10_000),
            TraceRecord(vq: 0, type: .read, sector: 16, length: 4096, submitNs: 3000, completionNs: 10_000),
            TraceRecord(vq: 0, type: .read, sector: 24, length: 4096, submitNs: 20_000, completionNs: 30_000),
        ]
        let writer = try TraceWriter(path: dir.file("t.vqt"), metadata: TraceMetadata(devices: [.init(capacitySectors: 1 << 20, numQueues: 1)], source: .init(kind: "synthetic", name: "test")))
        for r in records { try writer.append(r) }
        try writer.finish()
        var options = ReplayOptions()
        options.timing = .closed
        let feed = try ReplayFeed(path: dir.file("t.vqt"), from: 0, to: .max, queues: [QueueKey(device: 0, vq: 0)])
        var source = TraceReplaySource(feed: feed, device: 0, vq: 0, options: options, clock: RunClock())
        guard case .submit = source.stepWaitingForFeed(inFlight: 0) else { Issue.record("first request held back"); return }
        guard case .waitForCompletion = source.stepWaitingForFeed(inFlight: 2) else { Issue.record("second request went with 2 in flight (recorded 1)"); return }
        guard case .submit = source.stepWaitingForFeed(inFlight: 1) else { Issue.record("second request held back at its recorded depth"); return }
        guard case .submit = source.stepWaitingForFeed(inFlight: 2) else { Issue.record("third request held back at its recorded depth"); return }
        guard case .waitForCompletion = source.stepWaitingForFeed(inFlight: 1) else { Issue.record("fourth request went before the others completed"); return }
        guard case .submit = source.stepWaitingForFeed(inFlight: 0) else { Issue.record("fourth request held back with nothing in flight"); return }
        guard case .exhausted = source.stepWaitingForFeed(inFlight: 0) else { Issue.record("not exhausted"); return }
    }

    @Test("writes can be skipped or turned into reads")
    func writePolicies() throws {
        let dir = ScratchDirectory()
        let records = try ReplayFixtures.trace(at: dir.file("t.vqt"), count: 1000, seed: 8)
        var options = ReplayOptions()
        options.timing = .afap
        options.writes = .skip
        let skipped = try ReplayFixtures.replay(dir.file("t.vqt"), options)
        // DISCARD and WRITE_ZEROES change data as writes do: a read-only replay leaves them out too.
        let changesData: Set<TraceRequestType> = [.write, .discard, .writeZeroes]
        #expect(skipped.result.requests == UInt64(records.filter { !changesData.contains($0.type) }.count))
        #expect(skipped.perQueue.joined().allSatisfy { !changesData.contains(TraceRequestType(rawValue: $0.type.rawValue)) })
        options.writes = .asReads
        let asReads = try ReplayFixtures.replay(dir.file("t.vqt"), options)
        #expect(asReads.result.requests == UInt64(records.filter { $0.type != .discard && $0.type != .writeZeroes }.count))
        #expect(asReads.perQueue.joined().filter { $0.type == .read }.count == records.filter { $0.type == .read || $0.type == .write }.count)
    }

    @Test("the runner replays N copies as N devices, on their own or shared IOThreads")
    func copies() throws {
        let dir = ScratchDirectory()
        _ = try ReplayFixtures.trace(at: dir.file("t.vqt"), count: 800, seed: 9)
        for shared in [false, true] {
            var options = ReplayOptions()
            options.timing = .afap
            options.vms = 3
            options.sharedIOThreads = shared
            let result = try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: nil, layoutSpec: "rr:2", backend: .null, options: options, safety: nil)
            #expect(result.engine.requests == 2400)
            #expect(result.replayed == 2400)
            #expect(result.layout.devices.count == 3)
            #expect(result.engine.iothreads.count == (shared ? 2 : 6))
        }
    }
}

@Suite("Replay onto block devices", .serialized)
struct ReplayDeviceSafetyTests {
    @Test("a device with a filesystem is refused; a blank one needs --allow-writes for a trace with writes, not for a read-only replay",
          .enabled(if: LoopDevice.available, "needs root, /dev/loop-control and losetup"))
    func loopDevices() throws {
        let dir = ScratchDirectory()
        let records = try ReplayFixtures.trace(at: dir.file("t.vqt"), count: 500, seed: 10)
        var options = ReplayOptions()
        options.timing = .afap
        let capacity = Int(ReplayFixtures.capacity * 512)

        let formatted = try LoopDevice(bytes: capacity, prefix: [0x53, 0xEF], at: 1080)
        let refused = #expect(throws: (any Error).self) {
            try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: formatted.path, layoutSpec: "single", backend: .ioUring, options: options,
                                 safety: DeviceSafety(allowWrites: true))
        }
        #expect("\(refused.map { "\($0)" } ?? "")".contains("ext2/3/4 filesystem"))

        let blank = try LoopDevice(bytes: capacity)
        let needsFlag = #expect(throws: (any Error).self) {
            try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: blank.path, layoutSpec: "single", backend: .ioUring, options: options,
                                 safety: DeviceSafety())
        }
        #expect("\(needsFlag.map { "\($0)" } ?? "")".contains("--allow-writes"))

        let written = try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: blank.path, layoutSpec: "rr:2", backend: .ioUring, options: options,
                                           safety: DeviceSafety(allowWrites: true))
        #expect(written.engine.requests == 500 && written.engine.failures.isEmpty)
        #expect(written.engine.queues.reduce(0) { $0 + $1.errors } == 0)

        options.writes = .skip
        let readOnly = try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: blank.path, layoutSpec: "single", backend: .ioUring, options: options,
                                            safety: DeviceSafety())
        #expect(readOnly.engine.requests == UInt64(records.filter { $0.type != .write && $0.type != .discard && $0.type != .writeZeroes }.count))
        #expect(readOnly.engine.queues.reduce(0) { $0 + $1.errors } == 0)
    }
}

@Suite("Recording through the engine")
struct RecordingTests {
    @Test("the recorder sees every request, per vq as the engine counted them, in submit order, and the trace verifies",
          arguments: [BackendKind.null, .ioUring])
    func recordsWhatTheDeviceSaw(backend: BackendKind) throws {
        let dir = ScratchDirectory()
        let records = try ReplayFixtures.trace(at: dir.file("t.vqt"), count: 4000, seed: 12)
        var recorded: [TapRecord] = []
        let sink = RecordingSink(windowNs: 50_000_000) { recorded.append($0) }
        var options = ReplayOptions()
        options.timing = .afap
        let result = try ReplayRunner.run(tracePath: dir.file("t.vqt"), target: backend == .null ? nil : dir.file("disk.img"), layoutSpec: "rr:2",
                                          backend: backend, options: options, safety: nil, sparseTarget: true, recording: sink)
        #expect(sink.error == nil && sink.dropped == 0)
        #expect(recorded.count == 4000)
        for vq in 0..<4 {
            #expect(UInt64(recorded.filter { $0.vq == UInt16(vq) }.count) == result.engine.queues[vq].requests)
            // The device saw each vq's requests in the order the trace has them.
            let seen = recorded.filter { $0.vq == UInt16(vq) }.map { "\($0.type) \($0.sector) \($0.length)" }
            let expected = records.filter { $0.vq == UInt16(vq) }.map { "\($0.type.rawValue) \($0.type == .flush ? 0 : $0.sector) \($0.type == .flush ? 0 : $0.length)" }
            #expect(Set(seen) == Set(expected))
        }
        #expect(zip(recorded, recorded.dropFirst()).allSatisfy { $0.submitNs <= $1.submitNs })
        #expect(recorded.allSatisfy { $0.completionNs >= $0.submitNs && $0.status == 0 })

        // Written as a trace, it verifies.
        let writer = try TraceWriter(path: dir.file("rec.vqt"), metadata: try TraceReader(path: dir.file("t.vqt")).metadata)
        let epoch = recorded[0].submitNs
        for r in recorded {
            try writer.append(TraceRecord(device: r.device, vq: r.vq, type: TraceRequestType(rawValue: r.type), sector: r.sector, length: r.length,
                                          submitNs: r.submitNs - epoch, completionNs: r.completionNs - epoch, status: TraceStatus(rawValue: r.status)))
        }
        try writer.finish()
        let check = try TraceReader(path: dir.file("rec.vqt")).verify()
        #expect(check.isClean && check.recordsReadable == 4000)
    }
}
