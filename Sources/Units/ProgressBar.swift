import Foundation

/// A progress line on a terminal (standard error), silent when standard error is not a
/// terminal, so that pipes and CI logs stay clean: "importing [#####.........] 33%".
public final class ProgressBar: @unchecked Sendable {
    public let total: Int
    public let label: String
    public let enabled: Bool
    private var shown = -1

    public init(total: Int, label: String, enabled: Bool = true) {
        self.total = total
        self.label = label
        self.enabled = enabled && isatty(2) != 0
    }

    /// Redraws when the percentage changes. Call from one thread at a time.
    public func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let fraction = min(1, Double(done) / Double(total))
        let percent = Int(fraction * 100)
        guard percent != shown else { return }
        shown = percent
        let width = 30
        let filled = Int(fraction * Double(width))
        FileHandle.standardError.write(Data("\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(percent)%".utf8))
    }

    /// Clears the line.
    public func finish() {
        guard enabled else { return }
        shown = -1
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// A progress bar that follows the clock: for work whose length is known in advance (an
/// open-loop replay of N seconds), redrawn by its own thread five times a second. It can be
/// paused (while something else shows its own bar) and its clock restarted.
public final class ClockProgressBar: @unchecked Sendable {
    private let total: Double
    private let enabled: Bool
    private let stopped = NSCondition()
    private var done = false
    private var paused = false
    private var started = Date()
    private var thread: Thread?

    public init(seconds: Double, label: String, enabled: Bool = true) {
        total = max(seconds, 0.001)
        self.enabled = enabled && isatty(2) != 0
        guard self.enabled else { return }
        let bar = ProgressBar(total: 1000, label: label)
        thread = Thread { [self] in
            stopped.lock()
            while !done {
                if !paused { bar.update(min(1000, Int(Date().timeIntervalSince(started) / total * 1000))) }
                _ = stopped.wait(until: Date().addingTimeInterval(0.2))
            }
            stopped.unlock()
            bar.finish()
        }
        thread?.start()
    }

    /// Pauses the bar, or resumes it with its clock starting now.
    public func pause(_ pause: Bool) {
        stopped.lock()
        paused = pause
        if !pause { started = Date() }
        stopped.unlock()
    }

    /// Stops the bar and clears its line; waits for its thread.
    public func finish() {
        guard enabled else { return }
        stopped.lock()
        done = true
        stopped.broadcast()
        stopped.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }
}
