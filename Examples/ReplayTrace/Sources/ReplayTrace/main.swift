// Replays a trace through vqtrace's engine under two IOThread layouts and prints what each did.
// Usage: ReplayTrace [TRACE.vqt]   (without a trace: 20,000 requests of the OLTP model)
import Foundation
import Replay
import Workload

let path = CommandLine.arguments.dropFirst().first ?? NSTemporaryDirectory() + "replay-example-\(getpid()).vqt"
if CommandLine.arguments.count < 2 {
    _ = try OLTPSample(requests: 20_000, iops: 50_000).write(to: path)
}
defer { if CommandLine.arguments.count < 2 { unlink(path) } }

var options = ReplayOptions()
options.timing = .open  // each request at its recorded time
for layout in ["single", "rr:2"] {
    // The null backend completes at once: this measures the engine, not a disk. Give a file or
    // device as `target` with `backend: .ioUring` to measure one.
    let result = try ReplayRunner.run(tracePath: path, target: nil, layoutSpec: layout, backend: .null, options: options, safety: nil)
    let seconds = result.engine.wallSeconds
    print(layout.padding(toLength: 8, withPad: " ", startingAt: 0)
          + String(format: "%6llu requests in %.2f s: %8.0f IOPS, %d IOThreads, lateness p99 %llu µs", result.engine.requests, seconds,
                   Double(result.engine.requests) / seconds, result.layout.iothreads.count, result.lateness.valueAtPercentile(99) / 1000))
}
