import ArgumentParser
import Engine
import Units
import Replay
import Trace
import Workload

// The named choices of the engine, the replay, the trace writer and the models, parsed by
// ArgumentParser itself: a bad value is refused before run() with the valid ones listed, and
// --help shows them.
extension BackendKind: ExpressibleByArgument {}
extension ReplayOptions.Timing: ExpressibleByArgument {}
extension ReplayOptions.Writes: ExpressibleByArgument {}
extension IOPatternKind: ExpressibleByArgument {}
extension TraceFsyncPolicy: ExpressibleByArgument {}
extension FioParameters.RW: ExpressibleByArgument {}

/// Runs library work whose `OptionError` names a setting ("queues"): on the command line the
/// error names the flag (--queues).
func flagged<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch var error as OptionError where !error.option.hasPrefix("-") {
        error.option = "--" + error.option
        throw error
    }
}
