import Testing
@testable import Engine

@Suite("Adaptive polling")
struct AdaptivePollingTests {
    @Test("the window starts at 4 µs, doubles while wake-ups come within poll-max-ns, caps there, and drops to 0 after a long sleep")
    func qemuRules() {
        var p = AdaptivePolling(maxNs: 32_768)
        #expect(p.pollNs == 0)
        p.afterSleep(blockedNs: 10_000)
        #expect(p.pollNs == 4_000)
        p.afterSleep(blockedNs: 10_000)
        #expect(p.pollNs == 8_000)
        p.afterSleep(blockedNs: 5_000)  // shorter than the window: nothing to learn
        #expect(p.pollNs == 8_000)
        for _ in 0..<5 { p.afterSleep(blockedNs: 32_500) }
        #expect(p.pollNs == 32_768)
        p.afterSleep(blockedNs: 1_000_000)
        #expect(p.pollNs == 0)
        var off = AdaptivePolling(maxNs: 0)
        off.afterSleep(blockedNs: 10)
        #expect(off.pollNs == 0)
    }
}
