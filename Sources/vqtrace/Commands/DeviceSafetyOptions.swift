import ArgumentParser
import BlockBackend

/// The flags that let vqtrace use a block device, shared by every command that does I/O.
struct DeviceSafetyOptions: ParsableArguments {
    @Flag(help: "Let requests that write overwrite a block-device target (never a mounted or root disk).")
    var allowWrites = false

    @Flag(help: "Use a block device even though it carries a partition table or filesystem signature, or is held by LVM/MD/dm. Its data will be lost.")
    var destroyDataOnDevice = false

    var safety: DeviceSafety { DeviceSafety(allowWrites: allowWrites, acceptSignatures: destroyDataOnDevice) }
}
