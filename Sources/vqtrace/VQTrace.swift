import ArgumentParser

/// The `vqtrace` command: record virtio-blk virtqueue streams, replay them under IOThread
/// layouts, and report which layout wins. Subcommands live in Commands/, one per file.
@main
struct VQTrace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vqtrace",
        abstract: "Record per-vCPU virtio-blk virtqueue streams and measure IOThread layouts on your own disks.",
        discussion: """
            vqtrace answers "which IOThread-to-virtqueue layout should my VM get?" from a measurement: \
            record a workload's per-vq request streams once, replay them under each layout \
            (QEMU iothread-vq-mapping / libvirt <iothreads>), and read the comparison report.

            Start with `vqtrace demo` (the whole job, small), then `vqtrace generate --help` or `vqtrace import --help` for your own workload.
            """,
        subcommands: [DemoCommand.self, GenerateCommand.self, RecordCommand.self, ServeCommand.self, ImportCommand.self, ExportCommand.self, TracesCommand.self, ReplayCommand.self, SweepCommand.self, ReportCommand.self, MappingCommand.self, BenchCommand.self])
}
