import ArgumentParser
import Engine
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
