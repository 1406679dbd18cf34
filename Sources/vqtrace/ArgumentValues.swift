import ArgumentParser
import Engine
import Replay

// The engine's and the replay's named choices, parsed by ArgumentParser itself: a bad value is
// refused before run() with the valid ones listed, and --help shows them.
extension BackendKind: ExpressibleByArgument {}
extension ReplayOptions.Timing: ExpressibleByArgument {}
extension ReplayOptions.Writes: ExpressibleByArgument {}
extension IOPatternKind: ExpressibleByArgument {}
