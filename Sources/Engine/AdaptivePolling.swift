/// QEMU's adaptive polling (util/aio-posix.c, adjust_polling_time): before sleeping, an IOThread
/// polls for `pollNs`. After a sleep of `blockedNs`, the window grows (from 4 µs, doubling) when
/// the event came within `maxNs` (polling that long would have caught it without a wake-up), and
/// drops to 0 when the sleep was longer than `maxNs` (polling would have burned CPU for nothing).
struct AdaptivePolling {
    let maxNs: UInt64
    private(set) var pollNs: UInt64 = 0
    static let initialNs: UInt64 = 4_000

    init(maxNs: UInt64) { self.maxNs = maxNs }

    mutating func afterSleep(blockedNs: UInt64) {
        guard maxNs > 0 else { return }
        if blockedNs <= pollNs { return }
        if blockedNs > maxNs {
            pollNs = 0
        } else if pollNs < maxNs {
            pollNs = pollNs == 0 ? Self.initialNs : min(maxNs, pollNs * 2)
        }
    }
}
