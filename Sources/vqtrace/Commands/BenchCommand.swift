import ArgumentParser
import Foundation

/// `vqtrace bench`: measures one component of the engine in isolation.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of an engine component.",
        discussion: """
            --component virtqueue: one thread plays both sides of a split virtqueue. Each round trip
            adds a 3-descriptor virtio-blk read (header, 4 KiB data, status), publishes it, pops and
            parses it on the device side, completes it, publishes the used ring and reaps it on the
            driver side. No I/O: this is the ring's own cost, the floor under every request vqtrace
            replays.

            Examples:
              vqtrace bench --component virtqueue
              vqtrace bench --component virtqueue --round-trips 50000000 --event-idx --json
            """)

    enum Component: String, ExpressibleByArgument, CaseIterable {
        case virtqueue
    }

    @Option(help: "What to measure: \(Component.allCases.map(\.rawValue).joined(separator: ", ")).")
    var component: Component = .virtqueue

    @Option(help: "Round trips to run (after a warm-up of 10%).")
    var roundTrips: Int = 20_000_000

    @Option(help: "Queue size Q (power of two, 2...32768).")
    var queueSize: Int = 256

    @Flag(help: "Negotiate VIRTIO_RING_F_EVENT_IDX (notification suppression by index).")
    var eventIdx = false

    @Flag(help: "Use indirect descriptor tables (VIRTIO_RING_F_INDIRECT_DESC).")
    var indirect = false

    @Option(help: "Repeat the measurement this many times and report each and the best.")
    var repeats: Int = 3

    @Flag(help: "Print JSON for programs instead of a table.")
    var json = false

    func validate() throws {
        guard roundTrips > 0 else { throw ValidationError("--round-trips must be positive") }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
    }

    func run() throws {
        switch component {
        case .virtqueue:
            var features: VirtioFeaturesOption = []
            if eventIdx { features.insert(.eventIndex) }
            if indirect { features.insert(.indirect) }
            let bench = try VirtqueueRoundTripBenchmark(queueSize: queueSize, features: features)
            _ = try bench.run(roundTrips: max(roundTrips / 10, 1))
            var results: [Double] = []
            for _ in 0..<repeats {
                let result = try bench.run(roundTrips: roundTrips)
                results.append(result.roundTripsPerSecond)
            }
            let best = results.max() ?? 0
            if json {
                let object: [String: Any] = [
                    "component": "virtqueue", "queue_size": queueSize, "event_idx": eventIdx, "indirect": indirect,
                    "round_trips": roundTrips, "round_trips_per_second": results, "best_round_trips_per_second": best,
                    "ns_per_round_trip_best": 1e9 / best,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("virtqueue round trip (add → publish → pop → parse → complete → push → publish → reap), one thread")
                print("queue size \(queueSize), event_idx \(eventIdx ? "on" : "off"), indirect \(indirect ? "on" : "off"), \(roundTrips) round trips per run")
                for (i, value) in results.enumerated() {
                    print(String(format: "  run %d: %8.2f M round trips/s  (%.1f ns each)", i + 1, value / 1e6, 1e9 / value))
                }
                print(String(format: "  best:  %8.2f M round trips/s", best / 1e6))
            }
        }
    }
}
