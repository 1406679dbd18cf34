import ArgumentParser
import VhostUser
import Foundation
import Layout

/// `vqtrace mapping`: check and convert IOThread layouts.
struct MappingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapping",
        abstract: "Check an IOThread layout the way QEMU and libvirt would, and print it in either syntax.",
        discussion: LayoutSpec.help,
        subcommands: [Check.self, Show.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a layout; print the vq → IOThread → CPU table, or the error (exit status 2).",
            discussion: """
                \(LayoutSpec.help)

                Examples:
                  vqtrace mapping check --num-queues 8 rr:4
                  vqtrace mapping check --num-queues 4 \\
                    'qemu:[{"iothread":"a","vqs":[0,1]},{"iothread":"b","vqs":[2,3]}]'
                  vqtrace mapping check libvirt:/etc/libvirt/qemu/db1.xml
                """)

        @Option(help: "Virtqueues per device (required by single, rr:N and per-vq; checked against qemu:/libvirt: layouts).")
        var numQueues: Int?

        @Argument(help: "The layout to check.")
        var layout: String

        func run() throws {
            let resolved = try LayoutSpec.parse(layout, numQueues: numQueues)
            print(resolved.table, terminator: "")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a layout as a table, QEMU command-line fragments, libvirt XML or JSON.",
            discussion: """
                \(LayoutSpec.help)

                Examples:
                  vqtrace mapping show rr:2 --num-queues 4 --format qemu
                  vqtrace mapping show per-vq --num-queues 4 --format libvirt
                  vqtrace mapping show 'qemu:@vm.args' --format json
                  vqtrace mapping show single --num-queues 4 --format qsd   # qemu-storage-daemon
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, qemu, libvirt, json, qsd }

        @Argument(help: "The layout to show.")
        var layout: String

        @Option(help: "Virtqueues per device (required by single, rr:N and per-vq).")
        var numQueues: Int?

        @Option(help: "Output syntax: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
        var format: Format = .table

        func run() throws {
            let resolved = try LayoutSpec.parse(layout, numQueues: numQueues)
            switch format {
            case .table: print(resolved.table, terminator: "")
            case .qemu: print(QEMULayoutFormat.emit(resolved), terminator: "")
            case .libvirt: print(LibvirtLayoutFormat.emit(resolved), terminator: "")
            case .json: print(try LayoutDocument(resolved, withSyntax: true).encoded(pretty: true))
            case .qsd: print(try QemuStorageDaemon.commandLine(for: resolved), terminator: "")
            }
        }
    }
}
