import Layout

/// The layout to use, in the forms a user pastes: QEMU options and libvirt XML with the disk,
/// its IOThreads and their pinning.
public struct Recommendation: Sendable {
    public var spec: String
    public var reason: String
    /// `-object iothread`, `-blockdev` and `-device` lines.
    public var qemu: String
    /// A domain XML skeleton: `<iothreads>`, `<cputune>`, and the whole `<disk>`.
    public var libvirt: String
    /// Where to pin the IOThreads on the host the VM runs on.
    public var pinning: String
    /// The disk the snippets name (kind, format, path, cache and aio).
    public var disk: DiskBacking
    /// What the disk path in the snippets is: a placeholder, or the device that was measured.
    public var diskNote: String
}

extension ReportModel {
    static func recommend(_ winner: LayoutResult, reason: String, input: ReportInput) throws -> Recommendation {
        let spec = SweepPlan.layout(ofLabel: winner.spec)
        var layout = try Self.layout(spec, for: input.devices)
        let pinning = PinningAdvice.apply(&layout, vmHostCPUs: input.vmHostCPUs)
        let (disk, note) = deploymentDisk(input)
        var qemu = QEMULayoutFormat.emit(layout, disk: disk)
        if layout.devices.contains(where: { $0.iothreads.count > 1 }) {
            qemu = "# iothread-vq-mapping needs QEMU 9.0 or later (libvirt: 10.0 for <iothreads> in <driver>)\n" + qemu
        }
        if input.vmHostCPUs == nil {
            qemu = "# pin each IOThread to a CPU of the VM host on the disk's NUMA node, away from the vCPUs (taskset -pc CPU TID; TIDs from QMP query-iothreads)\n" + qemu
        }
        return Recommendation(spec: spec, reason: reason, qemu: qemu, libvirt: LibvirtLayoutFormat.emit(layout, disk: disk, pinPlaceholder: PinningAdvice.placeholder),
                              pinning: pinning, disk: disk, diskNote: note)
    }

    /// `spec` for every device, as the replay ran it: the first device on the layout's
    /// IOThreads, each other device on IOThreads of its own (named after it).
    static func layout(_ spec: String, for devices: [ReportDevice]) throws -> IOThreadLayout {
        var combined = IOThreadLayout(iothreads: [], devices: [])
        for (index, device) in devices.enumerated() {
            let parsed: IOThreadLayout
            do { parsed = try LayoutSpec.parse(spec, numQueues: device.numQueues) } catch {
                throw ReportError("layout \(spec) for device \(device.name): \(error)")
            }
            let prefix = index == 0 ? "" : "\(device.name)-"
            combined.iothreads += parsed.iothreads.map { IOThreadSpec(id: prefix + $0.id, cpus: $0.cpus, pollMaxNs: $0.pollMaxNs) }
            for single in parsed.devices {
                combined.devices.append(DeviceLayout(name: device.name, iothreads: single.iothreads.map { prefix + $0 },
                                                     assignment: single.assignment.map { prefix + $0 }))
            }
        }
        return combined
    }

    /// The disk the configuration names, as the runs measured it: O_DIRECT, the backend's way of
    /// submitting, the target's kind and format. Its path is the one the VM will use: a file the
    /// runs replayed onto is a scratch copy, so the snippet gets a placeholder; a block device is
    /// named as measured.
    static func deploymentDisk(_ input: ReportInput) -> (DiskBacking, String) {
        let aio: DiskBacking.AIO
        switch input.backend {
        case "io_uring": aio = .ioUring
        case "threads": aio = .threads
        default: aio = .native  // the null backend measured no disk: the advice for NVMe
        }
        let measured = input.backend != "null" && !input.target.isEmpty && input.target != "null"
        if input.targetKind == .blockDevice && measured {
            return (DiskBacking(kind: .blockDevice, path: input.target, format: input.targetFormat, aio: aio),
                    "\(input.target) is the block device the runs measured: on the VM host, name the disk the VM will use (a /dev/disk/by-id/… path survives reboots).")
        }
        let placeholder = input.targetFormat == .qcow2 ? "/path/to/vm-disk.qcow2" : "/path/to/vm-disk.img"
        let note = measured
            ? "\(placeholder) is a placeholder: put the path of the VM's \(input.targetFormat.rawValue) image there (the runs measured a scratch file, \(input.target))."
            : "\(placeholder) is a placeholder for the VM's image: these runs measured no disk."
        return (DiskBacking(kind: .file, path: placeholder, format: input.targetFormat, aio: aio), note)
    }
}
