import ArgumentParser
import CLinuxShim
import Foundation
import Runs
import Trace
import Units

/// The `vqtrace` command: record virtio-blk virtqueue streams, replay them under IOThread
/// layouts, and report which layout wins. Subcommands live in Commands/, one per file.
@main
struct VQTrace: ParsableCommand {
    /// The release, as `vqtrace --version` prints it.
    static let version = "0.6.0"

    static let configuration = CommandConfiguration(
        commandName: "vqtrace",
        abstract: "Record per-vCPU virtio-blk virtqueue streams and measure IOThread layouts on your own disks.",
        discussion: """
            vqtrace answers "which IOThread-to-virtqueue layout should my VM get?" from a measurement: \
            record a workload's per-vq request streams once, replay them under each layout \
            (QEMU iothread-vq-mapping / libvirt <iothreads>), and read the comparison report.

            Start with `vqtrace demo` (the whole job, small), then `vqtrace generate --help` or `vqtrace import --help` for your own workload.
            """,
        version: "vqtrace \(version) (trace format \(TraceFormat.majorVersion).\(TraceFormat.minorVersion))",
        subcommands: [DemoCommand.self, GenerateCommand.self, RecordCommand.self, ServeCommand.self, ImportCommand.self, ExportCommand.self, TracesCommand.self, ReplayCommand.self, CompareCommand.self, SweepCommand.self, ReportCommand.self, CatalogCommand.self, MappingCommand.self, BenchCommand.self])

    /// Exit status: 0 done, 1 a run-time failure, 2 a usage mistake (a bad option, layout, target
    /// or trace shape, found before any work starts; ArgumentParser's own code for these is 64),
    /// 130 interrupted by SIGINT or SIGTERM after a clean stop.
    static func main() {
        // Line-buffered even into a pipe, so `vqtrace sweep … | tee log` shows each run as it ends.
        linux_line_buffer_stdout()
        Interrupt.shared.install()
        do {
            var command = try parseAsRoot(CommandLineWords.valuesMayBeNegative(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch {
            // Whatever the work threw on its way out of an interruption (an import's or a
            // writer's error), the outcome is the interruption.
            if error is Interrupted || Interrupt.shared.requested {
                FileHandle.standardError.write(Data("vqtrace: interrupted; nothing half-done was kept\n".utf8))
                Glibc.exit(130)
            }
            if let mistake = usageMistake(in: error) {
                FileHandle.standardError.write(Data("Error: \(mistake)\n".utf8))
                Glibc.exit(2)
            }
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((OptionError.suggesting(in: fullMessage(for: error)) + "\n").utf8))
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}
