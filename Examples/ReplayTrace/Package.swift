// swift-tools-version: 6.1
// An example of vqtrace as a library: another package depends on it by path and replays a trace.
import PackageDescription

let package = Package(
    name: "ReplayTrace",
    dependencies: [.package(name: "vqtrace", path: "../..")],
    targets: [
        .executableTarget(
            name: "ReplayTrace",
            dependencies: [
                .product(name: "Replay", package: "vqtrace"),
                .product(name: "Workload", package: "vqtrace"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
