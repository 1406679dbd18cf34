// swift-tools-version: 6.1
// vqtrace: record per-vCPU virtio-blk virtqueue streams, replay them under IOThread layouts.
import PackageDescription

// Linux only. The engine is io_uring, O_DIRECT, eventfd, memfd, Linux CPU affinity and vhost-user
// over Unix sockets with SCM_RIGHTS; none of it exists on Apple platforms, and SwiftPM has no
// `.linux` entry for `platforms:`, so the list stays empty rather than claim a macOS that would
// not build. The C shims and modules that call Linux-only APIs say so with `#if os(Linux)`.
//
// No product target uses `unsafeFlags` (SwiftPM refuses them in a dependency): the hot paths drop
// runtime exclusivity checks property by property, with `@exclusivity(unchecked)` on the stored
// state that one thread owns (an IOThread's queues and backend, a vCPU driver, a trace codec, an
// import parser), each with a comment saying which thread owns it.

let package = Package(
    name: "vqtrace",
    products: [
        .executable(name: "vqtrace", targets: ["vqtrace"]),
        // One library per module, so that a program takes what it needs.
        .library(name: "Units", targets: ["Units"]),
        .library(name: "SystemSupport", targets: ["SystemSupport"]),
        .library(name: "Virtio", targets: ["Virtio"]),
        .library(name: "Layout", targets: ["Layout"]),
        .library(name: "BlockBackend", targets: ["BlockBackend"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Trace", targets: ["Trace"]),
        .library(name: "Workload", targets: ["Workload"]),
        .library(name: "Import", targets: ["Import"]),
        .library(name: "Replay", targets: ["Replay"]),
        .library(name: "Report", targets: ["Report"]),
        .library(name: "Catalog", targets: ["Catalog"]),
        .library(name: "Runs", targets: ["Runs"]),
        .library(name: "VhostUser", targets: ["VhostUser"]),
        .library(name: "Benchmarks", targets: ["Benchmarks"]),
        .library(name: "Demo", targets: ["Demo"]),
        .library(name: "Compare", targets: ["Compare"]),
    ],
    dependencies: [
        // Command-line parsing with generated --help: the CLI is the product's front door.
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        // The trace catalog and run results live in SQLite; GRDB gives migrations, typed rows and
        // transactions on the system libsqlite3 (Debian's libsqlite3-dev).
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // Latency distributions with bounded memory and fixed relative precision (HdrHistogram).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
        // Errno and FileDescriptor: system-call failures carry a typed errno, not a strerror string.
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        // The shared catalog of a fleet of hosts lives in PostgreSQL; postgres-nio speaks its wire
        // protocol (extended queries with bound parameters, bytea, transactions) without libpq.
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
    ],
    targets: [
        // C11 acquire/release loads, stores and fences on ring indices in shared guest memory.
        .target(name: "CRingAtomics", path: "Sources/CRingAtomics"),
        // GNU-only Linux names that Swift's Glibc module lacks (O_DIRECT, memfd_create, eventfd, affinity).
        .target(name: "CLinuxShim", path: "Sources/CLinuxShim"),
        // liburing, imported in the order that avoids the io_uring_sqe clash (see shim.h).
        .systemLibrary(
            name: "CLibURing", path: "Sources/CLibURing", pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]),
        // zstd, for trace chunk compression.
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),

        // How people write and read numbers: sizes (4k, 1g), lengths of time (10s, 500ms), and
        // the binary units, durations and tables vqtrace prints.
        .target(name: "Units"),

        // What the modules that make system calls share: a descriptor that closes itself and the
        // error that names the call, its errno and the path.
        .target(name: "SystemSupport", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),

        // Guest memory, split virtqueues (driver and device side), virtio-blk requests. Pure logic.
        .target(name: "Virtio", dependencies: ["CRingAtomics", "CLinuxShim"]),

        // IOThread layouts: QEMU iothread-vq-mapping and libvirt XML, parsed, validated, emitted.
        .target(name: "Layout", dependencies: ["Units"]),

        // Where requests go: io_uring, a thread pool, or nothing (the engine's own cost).
        .target(name: "BlockBackend", dependencies: ["Virtio", "Units", "SystemSupport", "CLibURing", "CLinuxShim",
                                                     .product(name: "SystemPackage", package: "swift-system")]),

        // The virtio-blk engine: devices, IOThreads (event loops over virtqueues), vCPU drivers.
        .target(
            name: "Engine",
            dependencies: ["Virtio", "Layout", "BlockBackend", "Units", "SystemSupport", "CLinuxShim", "CRingAtomics",
                           .product(name: "SystemPackage", package: "swift-system"),
                           .product(name: "Histogram", package: "hdrhistogram-swift")]),

        // The .vqt trace format: records, chunked columnar codec with zstd, streaming writer and reader.
        .target(name: "Trace", dependencies: ["Virtio", "Units", "SystemSupport", "CZstd", "CLinuxShim",
                                             .product(name: "SystemPackage", package: "swift-system")]),

        // Workload models (HammerDB-like OLTP, fio-like) that generate per-vCPU request streams.
        .target(name: "Workload", dependencies: ["Trace", "Units"]),

        // Importers and exporters of the trace formats users already have: fio iologs, blkparse and
        // ftrace blk text, the MSR, Alibaba, Tencent and DiskSim datasets. Per-line hot loops over
        // single-threaded parser state, whose hot properties are `@exclusivity(unchecked)` (the
        // runtime checks were measured at a fifth of the import time).
        .target(name: "Import", dependencies: ["Trace", "Units"]),

        // vhost-user back-end: a guest's virtio-blk virtqueues, handed over by QEMU, served by the
        // engine's IOThreads (vqtrace serve).
        .target(name: "VhostUser", dependencies: ["Virtio", "Engine", "BlockBackend", "Layout", "Trace", "Replay", "Units", "SystemSupport", "CLinuxShim",
                                                  .product(name: "SystemPackage", package: "swift-system")]),

        // Replay: a trace's per-vq streams through the engine, open-loop, closed-loop or afap.
        .target(name: "Replay", dependencies: ["Units", "Engine", "Trace", "BlockBackend", "Layout", .product(name: "Histogram", package: "hdrhistogram-swift")]),

        // Comparison reports: statistics over repeated runs, the answer, the recommended layout,
        // HTML with inline SVG charts, Markdown, JSON.
        .target(name: "Report", dependencies: ["Layout", "Units"]),

        // Runs of traces as a program uses them: sweeps, stored runs with typed summaries, reports
        // built from the catalog, and the figures (fio-shaped) every run prints and stores.
        .target(
            name: "Runs",
            dependencies: ["Replay", "Engine", "BlockBackend", "Catalog", "Report", "Trace", "Layout", "Units", "Workload", "Compare", "VhostUser",
                           .product(name: "Histogram", package: "hdrhistogram-swift")]),

        // What `vqtrace bench` measures, as functions a program can call: the virtqueue round
        // trip, the trace codec, the importers, the engine against fio, replay fidelity, the catalog.
        .target(
            name: "Benchmarks",
            dependencies: ["Virtio", "Engine", "BlockBackend", "Layout", "Trace", "Workload", "Import", "Replay", "Runs", "Units", "CZstd", "Catalog", "CLinuxShim", "VhostUser",
                           .product(name: "Histogram", package: "hdrhistogram-swift")]),

        // The end-to-end demo (`vqtrace demo`) as a function a program can call.
        .target(name: "Demo", dependencies: ["Benchmarks", "Runs", "Replay", "Catalog", "Trace", "Layout", "Workload", "BlockBackend", "Units"]),

        // How faithful a replay was: two traces compared stream by stream (requests, order,
        // offered load, service, span), as text, JSON and HTML with inline SVG.
        .target(name: "Compare", dependencies: ["Trace", "Units", "Report"]),

        // The SQLite catalog: an index of traces and chunks, and the tables replay runs fill.
        .target(name: "Catalog", dependencies: ["Trace", "Units", .product(name: "GRDB", package: "GRDB.swift"),
                                               .product(name: "PostgresNIO", package: "postgres-nio")]),

        .executableTarget(
            name: "vqtrace",
            dependencies: [
                "Virtio", "Layout", "Trace", "Catalog", "Engine", "BlockBackend", "Replay", "Report", "Workload", "Import", "VhostUser", "Runs", "Benchmarks", "Demo", "Compare", "Units",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "VirtioTests", dependencies: ["Virtio", "CRingAtomics", "CLinuxShim", "TestSupport"]),
        .testTarget(name: "LayoutTests", dependencies: ["Layout", "TestSupport"]),
        .testTarget(name: "TraceTests", dependencies: ["Trace", "Catalog", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "BlockBackend", "Virtio", "Layout", "CLinuxShim", "TestSupport"]),
        .testTarget(name: "ReplayTests", dependencies: ["Replay", "Engine", "BlockBackend", "Trace", "Layout", "TestSupport"]),
        // The loader tests write real catalogs and traces and run `vqtrace report` on them.
        .testTarget(name: "ReportTests", dependencies: ["Runs", "Report", "Layout", "Catalog", "Trace", "TestSupport"]),
        .testTarget(name: "WorkloadTests", dependencies: ["Workload", "Trace", "TestSupport"]),
        .testTarget(name: "ImportTests", dependencies: ["Import", "Trace", "TestSupport"]),
        .testTarget(name: "VhostUserTests", dependencies: ["VhostUser", "Engine", "Virtio", "Layout", "BlockBackend", "Replay", "Trace", "CLinuxShim", "TestSupport"]),
        .testTarget(name: "RunsTests", dependencies: ["Runs", "Benchmarks", "Replay", "Report", "Catalog", "Trace", "Workload", "Layout", "Engine", "VhostUser", "TestSupport"]),
        .testTarget(name: "CompareTests", dependencies: ["Compare", "Trace", "TestSupport"]),
        .testTarget(name: "GuestTests", dependencies: ["Trace", "TestSupport"]),
        .testTarget(name: "CShimTests", dependencies: ["CLibURing", "CZstd", "CLinuxShim", "SystemSupport", "TestSupport",
                                                    .product(name: "SystemPackage", package: "swift-system")]),
    ],
    swiftLanguageModes: [.v6]
)
