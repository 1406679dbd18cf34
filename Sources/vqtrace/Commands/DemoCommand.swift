import ArgumentParser
import Foundation
import Layout

/// `vqtrace demo`: the README's first command. Runs what exists end to end and says what is next.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the end-to-end demo on embedded defaults.",
        discussion: """
            The full demo will generate an OLTP (HammerDB-like) trace, replay it under the layouts
            single, rr:2 and per-vq on a temporary file, and write Reports/demo.html and
            Reports/demo.md. Until recording and replay land, it exercises the virtqueue core:
            a driver and a device exchange virtio-blk requests through a shared split ring, and
            the ring's round-trip rate is measured.
            """)

    @Option(help: "Round trips for the virtqueue measurement.")
    var roundTrips: Int = 5_000_000

    func run() throws {
        print("vqtrace demo")
        print("  planned: generate OLTP trace → replay under single, rr:2, per-vq → Reports/demo.html")
        print("  available now: the virtio split-virtqueue and virtio-blk request core\n")
        let bench = try VirtqueueRoundTripBenchmark(queueSize: 256, features: [.eventIndex])
        _ = try bench.run(roundTrips: roundTrips / 10 + 1)
        let result = try bench.run(roundTrips: roundTrips)
        print("  \(result.roundTrips) virtio-blk requests passed driver → device → driver, all completed OK")
        print("  ring cost: \(String(format: "%.2f", result.roundTripsPerSecond / 1e6)) M round trips/s on one thread")
        print("\n  The layouts the demo will compare, for a 4-vCPU VM (4 virtqueues), as QEMU fragments:")
        for spec in ["single", "rr:2", "per-vq"] {
            let layout = try LayoutSpec.parse(spec, numQueues: 4)
            print("\n  \(spec):")
            for line in QEMULayoutFormat.emit(layout).split(separator: "\n") { print("    \(line)") }
        }
        print("\n  Any of them as libvirt XML: vqtrace mapping show rr:2 --num-queues 4 --format libvirt")
    }
}
