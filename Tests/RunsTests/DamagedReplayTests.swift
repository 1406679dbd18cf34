import Engine
import Foundation
import Replay
import Runs
import Testing
import TestSupport
import Trace
import Workload

/// A replay whose window holds a damaged chunk is refused unless damage is allowed.
@Suite("Replaying damaged traces")
struct DamagedReplayTests {
    @Test("damage in the window is refused with the chunk and the records lost; allowed, the rest replays and the run is marked")
    func refusedUnlessAllowed() throws {
        let dir = ScratchDirectory()
        let path = dir.file("t.vqt")
        _ = try OLTPSample(requests: 4000, iops: 1_000_000, capacityBytes: 64 << 20).write(to: path, options: .init(recordsPerChunk: 1000))
        let chunk = try TraceReader(path: path).chunks[1]
        var bytes = Array(FileManager.default.contents(atPath: path)!)
        bytes[Int(chunk.offset) + 64 + 40] ^= 0x08  // inside the columns (a chunk header is 64 bytes)
        FileManager.default.createFile(atPath: path, contents: Data(bytes))

        var options = ReplayOptions()
        options.timing = .afap
        var replay = ReplayInvocation(trace: .file(path), traceId: nil, layout: "single", backend: .null, target: nil, options: options, safety: nil)
        let refused = #expect(throws: ReplayError.self) { _ = try replay.run(storingIn: nil) }
        #expect(refused?.isUsage == false)
        #expect(refused?.description.contains("is damaged in the replayed window: 1 damaged chunk (1) skipped: 1000 of 4000 records lost") == true)

        replay.allowDamaged = true
        guard case .success(let outcome) = try replay.run(storingIn: nil) else { Issue.record("stopped"); return }
        #expect(outcome.result.replayed + outcome.result.skipped == 3000)
        #expect(outcome.result.damagedChunks.map(\.index) == [1])
        #expect(outcome.result.warning?.contains("the trace is damaged: 1 damaged chunk (1) skipped") == true)

        // A window before the damage needs no permission.
        replay.allowDamaged = false
        let firstChunkEnd = try TraceReader(path: path).chunks[0].lastSubmitNs
        replay.options.toNs = firstChunkEnd
        guard case .success(let clean) = try replay.run(storingIn: nil) else { Issue.record("stopped"); return }
        #expect(clean.result.damagedChunks.isEmpty)
    }
}
