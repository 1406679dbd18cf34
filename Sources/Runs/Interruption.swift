import Dispatch
import Foundation
import Synchronization

/// SIGINT and SIGTERM as a request to stop cleanly, for a program that runs long work (runs,
/// sweeps, imports, model runs, fills): the work polls `requested` (or its `shouldStop`
/// closure, or calls `check()`), stops at the next safe point, removes its partial files and
/// leaves the catalog consistent; the program then says what was done (the CLI exits 130). A
/// second signal quits at once. Nothing happens until `install()`.
public final class Interrupt: Sendable {
    public static let shared = Interrupt()

    private let signals = Atomic<Int>(0)
    private let state = Mutex<(sources: [DispatchSourceSignal], handlers: [@Sendable () -> Void])>(([], []))

    /// Whether a stop was asked for.
    public var requested: Bool { signals.load(ordering: .relaxed) > 0 }

    /// Throws `Interrupted` once a stop was asked for.
    public func check() throws {
        if requested { throw Interrupted() }
    }

    /// A closure for library code that polls (`EngineJob.shouldStop`, importer, fill).
    public var shouldStop: @Sendable () -> Bool { { Interrupt.shared.requested } }

    /// Runs `handler` (on a dispatch queue) when the first signal arrives; `serve` uses it to wake
    /// its event loop.
    public func onInterrupt(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.handlers.append(handler) }
    }

    /// Takes SIGINT and SIGTERM from their default action (which would end the process in the
    /// middle of a write, losing buffered output and leaving partial files).
    public func install() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in received(number) }
            source.resume()
            state.withLock { $0.sources.append(source) }
        }
    }

    private func received(_ number: Int32) {
        let count = signals.add(1, ordering: .relaxed).newValue
        if count == 1 {
            FileHandle.standardError.write(Data("\nvqtrace: \(number == SIGINT ? "interrupted" : "terminated"); stopping cleanly (again to quit at once)\n".utf8))
            for handler in state.withLock({ $0.handlers }) { handler() }
        } else {
            fflush(nil)  // every output stream
            _exit(130)
        }
    }
}

/// The error long work throws when a stop was asked for; the command exits 130 (128 + SIGINT).
public struct Interrupted: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "interrupted" }
}
