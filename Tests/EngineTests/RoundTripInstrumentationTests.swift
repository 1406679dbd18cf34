import Foundation
import Layout
import Testing
import TestSupport
@testable import Engine

/// The instrumentation that answers "does the backend hold as many requests as the drivers
/// believe, and where does each round trip's time go?" measures what it says.
@Suite("Round-trip instrumentation", .serialized)
struct RoundTripInstrumentationTests {
    /// `count` 4 KiB random reads at `depth` through io_uring, unmerged, on a 16 MiB file of real
    /// data (every block written, so reads reach the disk or its cache rather than zero-fill).
    static func randomReads(_ count: Int, depth: Int, in dir: ScratchDirectory, seed: UInt64, submitBatch: Int = 0) throws -> EngineResult {
        let target = dir.file("disk.img")
        let capacity: UInt64 = 16 << 20
        FileManager.default.createFile(atPath: target, contents: Data((0..<Int(capacity)).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        var job = EngineJob(devices: [VirtioBlkDeviceConfig(numQueues: 1, capacitySectors: capacity / 512)], layout: .single(numQueues: 1),
                            backend: .ioUring, target: target, depth: depth, maxBlock: 4096, duration: nil)
        job.mergeRequests = false
        job.writes = false
        job.submitBatch = submitBatch
        return try Engine.run(job) { _, _ in IOPattern(kind: .randread, blockSize: 4096, regionBytes: capacity, seed: seed, limit: UInt64(count)) }
    }

    @Test("a null-backend run at depth D shows D in flight at the driver", arguments: [1, 8, 32])
    func nullBackendKeepsTheDepth(depth: Int) throws {
        let job = EngineJob(devices: [VirtioBlkDeviceConfig(numQueues: 1, capacitySectors: 1 << 21)], layout: .single(numQueues: 1),
                            backend: .null, target: nil, depth: depth, maxBlock: 4096, duration: 0.3)
        let result = try Engine.run(job) { _, vq in IOPattern(kind: .randread, blockSize: 4096, regionBytes: 1 << 30, seed: 5, queue: vq) }
        #expect(result.failures.isEmpty)
        let queue = try #require(result.queues.first)
        // The driver fills to its depth; over time it holds less, since a reaped slot is in its
        // own hands until the refill is published (with a backend that completes at once, that
        // recycling is most of each round trip: about 70% of D was seen in a debug build).
        #expect(queue.maxInFlight == depth)
        #expect(queue.meanInFlight > Double(depth) * 0.4 && queue.meanInFlight <= Double(depth), "mean in flight \(queue.meanInFlight) at depth \(depth)")
        let cycle = try #require(result.iothreads.first?.cycle)
        // Nothing waits at a backend that completes in the same pass.
        #expect(cycle.meanInFlight < 1, "null backend held \(cycle.meanInFlight)")
        #expect(cycle.meanReapBatch >= 1 && cycle.meanReapBatch <= Double(depth))
        #expect(cycle.wakeUpsPerRequest >= 0 && cycle.wakeUpsPerRequest <= 2)
    }

    @Test("on a real file at depth 8, the io_uring backend holds what the driver has in flight, and kicks are timed")
    func ioUringHoldsTheDriversRequests() throws {
        let dir = ScratchDirectory()
        let result = try Self.randomReads(4000, depth: 8, in: dir, seed: 3)
        #expect(result.failures.isEmpty)
        let queue = try #require(result.queues.first)
        #expect(queue.reads == 4000)
        let cycle = try #require(result.iothreads.first?.cycle)
        // What the backend holds is a part of what the driver has out, never more.
        #expect(cycle.meanInFlight > 0 && cycle.meanInFlight <= queue.meanInFlight + 0.5,
                "backend \(cycle.meanInFlight), driver \(queue.meanInFlight)")
        #expect(queue.maxInFlight == 8)
        #expect(queue.meanInFlight > 1 && queue.meanInFlight <= 8)
        #expect(cycle.meanReapBatch >= 1)
        // Kick → wake-up → submission is the part of a kicked request's latency spent before it
        // reaches the device, so it is shorter than the requests' latency. (Timed from kicks the
        // IOThread was awake for, it took in the empty passes after them and the device round
        // trip that ended their sleep: more than the latency itself.)
        let latency = queue.readLatency.mean
        #expect(cycle.kickToWakeNs + cycle.wakeToSubmitNs < latency,
                "kick → wake-up \(cycle.kickToWakeNs) ns + wake-up → submit \(cycle.wakeToSubmitNs) ns against a mean read latency of \(latency) ns")
        // Every reaped request was counted once.
        #expect(result.iothreads[0].requests == 4000)
    }

    @Test("--submit-batch N: an IOThread sends at most N requests per io_uring submission; 0 sends a pass's together",
          arguments: [0, 1, 4])
    func submissionsCarryAtMostTheBatch(batch: Int) throws {
        let dir = ScratchDirectory()
        let result = try Self.randomReads(3000, depth: 32, in: dir, seed: 9, submitBatch: batch)
        #expect(result.failures.isEmpty)
        #expect(result.queues.first?.reads == 3000)
        let perSubmission = try #require(result.iothreads.first?.cycle?.meanSubmitBatch)
        if batch == 0 {
            // The driver's first 32 requests come with one kick and go out in one submission.
            #expect(perSubmission > 1, "\(perSubmission) requests per submission")
        } else {
            #expect(perSubmission >= 1 && perSubmission <= Double(batch), "\(perSubmission) requests per submission with a batch of \(batch)")
        }
    }
}
