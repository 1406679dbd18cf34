import CLinuxShim
import Dispatch
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// One OS thread that runs the vCPU drivers of several vqs. It keeps each driver's next deadline
/// in one min-heap, sleeps until the earliest (timer slack 1 µs, epoll_pwait2 with a nanosecond
/// timeout on every driver's irqfd at once), spins only for the last `spinNs`, and serves a
/// driver when its deadline falls or its irqfd fires. With `poll`, it spins on the used rings
/// instead of sleeping.
///
/// Why: with a thread per vq on a host with fewer CPUs than vqs, a deadline waits behind other
/// drivers' time slices (lateness p99 of 0.1–0.9 ms at 100k IOPS with 8 vqs on 2 CPUs). A few
/// threads that each hold a timer for many vqs are awake when their deadlines fall.
final class DriverThread<Source: RequestSource>: @unchecked Sendable {
    let name: String
    let drivers: ContiguousArray<VCPUDriver<Source>>
    private let stop: StopFlag
    private let cpus: [Int]
    private let poll: Bool
    private let realtime: Bool
    private let epoll: OwnedDescriptor
    private var thread: OSThread?
    /// The error when SCHED_FIFO was refused (not root, no RLIMIT_RTPRIO); the thread runs on.
    @exclusivity(unchecked) private(set) var realtimeError: Int32 = 0
    /// Below this, a wait for a deadline spins instead of sleeping: a timed wake-up on this kind
    /// of host lands 5–20 µs late. Longer spins take CPU the IOThreads need.
    private let spinNs: UInt64
    /// How often a driver whose source is behind (a feed still decoding) is asked again.
    private let sourceRetryNs: UInt64 = 50_000
    /// The longest sleep: the stop flag and broken devices are looked at this often.
    private let checkNs: UInt64 = 20_000_000

    init(name: String, drivers: [VCPUDriver<Source>], stop: StopFlag, cpus: [Int], poll: Bool, realtime: Bool,
         spinNs: UInt64 = 20_000) throws {
        precondition(!drivers.isEmpty, "a driver thread without drivers")
        self.name = name
        self.drivers = ContiguousArray(drivers)
        self.stop = stop
        self.cpus = cpus
        self.poll = poll
        self.realtime = realtime
        self.spinNs = spinNs
        epoll = try OwnedDescriptor(checking: linux_epoll_create(), call: "epoll_create1", operation: "starting driver thread \(name)")
        for (i, driver) in drivers.enumerated() where linux_epoll_add(epoll.rawValue, driver.callFD, UInt64(i)) != 0 {
            throw SystemCallError.last("epoll_ctl", operation: "watching the irqfd of vq \(driver.vq) of \(driver.device.config.name)")
        }
    }

    func start() throws {
        thread = try OSThread.start(name: name, cpus: cpus) { [self] in run() }
    }

    func join() {
        thread?.join()
        thread = nil
    }

    /// Waits up to `timeout` for the thread to end; true when it has (or never started).
    func waitFinished(timeout: DispatchTime) -> Bool { thread?.waitFinished(timeout: timeout) ?? true }

    private func run() {
        linux_set_timer_slack(1_000)
        if realtime { realtimeError = linux_set_realtime(10) }
        let count = drivers.count
        var deadlines = DeadlineQueue(capacity: count)
        // Drivers waiting for their source, and whether each is done: fixed arrays, no
        // allocation in the loop.
        let waitingForSource = UnsafeMutablePointer<Bool>.allocate(capacity: count)
        waitingForSource.initialize(repeating: false, count: count)
        let done = UnsafeMutablePointer<Bool>.allocate(capacity: count)
        done.initialize(repeating: false, count: count)
        let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
        defer {
            waitingForSource.deallocate()
            done.deallocate()
            tokens.deallocate()
        }
        var active = count
        var sourceWaiters = 0
        var wakeUps = WakeUpEstimate(initialNs: spinNs)

        @inline(__always) func serve(_ i: Int) {
            guard !done[i] else { return }
            let wait = drivers[i].service()
            let wasWaiting = waitingForSource[i]
            waitingForSource[i] = wait == .source
            if wasWaiting != waitingForSource[i] { sourceWaiters += wasWaiting ? -1 : 1 }
            switch wait {
            case .deadline(let ns): deadlines.set(i, ns)
            case .completion, .source: deadlines.remove(i)
            case .finished:
                deadlines.remove(i)
                done[i] = true
                active -= 1
            }
        }
        func serveAll() { for i in 0..<count { serve(i) } }

        for driver in drivers { driver.begin() }
        serveAll()
        var stopSeen = false
        var nextSourceTry = monotonicNs() + sourceRetryNs
        var nextCheck = monotonicNs() + checkNs
        while active > 0 {
            if stop.isRaised && !stopSeen {
                // Held requests are dropped; drivers drain what is in flight.
                stopSeen = true
                serveAll()
                continue
            }
            // Completions, seen on the used rings while awake (no interrupt asked for).
            for i in 0..<count where !done[i] && drivers[i].hasCompletions { serve(i) }
            // Deadlines that fell, earliest first.
            var now = monotonicNs()
            while let next = deadlines.earliest, next.deadlineNs <= now {
                serve(next.member)
                now = monotonicNs()
            }
            if sourceWaiters > 0 && now >= nextSourceTry {
                for i in 0..<count where waitingForSource[i] { serve(i) }
                nextSourceTry = now + sourceRetryNs
            }
            if now >= nextCheck {
                // A device that broke, a stop: every driver looks once in a while.
                serveAll()
                nextCheck = now + checkNs
            }
            if active == 0 { break }
            var wake = min(deadlines.earliest?.deadlineNs ?? .max, nextCheck)
            if sourceWaiters > 0 { wake = min(wake, nextSourceTry) }
            let lead = wakeUps.leadNs
            if poll || wake <= now + lead {
                // Awake until the next deadline (or for good when polling): spin on the clock and
                // the used rings.
                spin: while monotonicNs() < wake && !stop.isRaised {
                    for i in 0..<count where !done[i] && drivers[i].hasCompletions { break spin }
                }
                continue
            }
            // Sleep until `lead` before the next deadline, armed for every driver's completion.
            var raced = false
            for i in 0..<count where !done[i] && drivers[i].inFlight > 0 && drivers[i].armInterrupts() { raced = true }
            let ready: Int32
            if raced {
                ready = 0  // completions came while arming: serve them now
            } else {
                let target = wake - lead
                ready = linux_epoll_wait_tokens(epoll.rawValue, tokens, 64, Int64(target - now))
                if ready == 0 { wakeUps.woke(lateByNs: monotonicNs() &- target) }
            }
            for i in 0..<count where !done[i] { drivers[i].disarmInterrupts() }
            if ready > 0 {
                for k in 0..<Int(ready) {
                    let i = Int(tokens[k])
                    drivers[i].interrupted()
                    serve(i)
                }
            }
        }
    }
}

/// How long before a deadline a driver thread must wake to be on time: a timed sleep here ends
/// late by the host's wake-up latency (5–40 µs, more on a virtual machine), so the thread sleeps
/// until that much before and spins the rest. The estimate follows the recent worst wake-ups
/// (a maximum that decays by 1/64 per wake-up), leaving out the ones that were a preemption
/// rather than the timer (over 200 µs), within 2–100 µs.
struct WakeUpEstimate {
    private var worstNs: UInt64
    init(initialNs: UInt64) { worstNs = initialNs }

    var leadNs: UInt64 { min(max(worstNs + 2_000, 2_000), 100_000) }

    mutating func woke(lateByNs late: UInt64) {
        guard late < 200_000 else { return }
        worstNs = max(late, worstNs - worstNs / 64)
    }
}
