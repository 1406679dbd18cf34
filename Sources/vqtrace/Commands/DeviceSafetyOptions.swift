import ArgumentParser
import BlockBackend

/// The flags that let vqtrace write to what it did not create (a block device, or a file that is
/// the user's), shared by every command that does I/O.
struct DeviceSafetyOptions: ParsableArguments {
    @Flag(help: "Let the run write to a block device (never a mounted or root disk) or to an existing file vqtrace did not create. Filling such a file's holes and unwritten extents with data, or growing it, is writing too. Files vqtrace creates are marked (extended attribute user.vqtrace.created) and need no flag; a new file is created and filled with data before anything is measured.")
    var allowWrites = false

    @Flag(name: [.customLong("destroy-data"), .customLong("destroy-data-on-device")],
          help: "Use a block device that carries a partition table, filesystem or disk-image signature or is held by LVM/MD/dm, or write to (or fill) a file vqtrace did not create that carries one (qcow2, VMDK, VHD/VHDX, VDI, LUKS, ext4, XFS, btrfs, MBR/GPT, …). Its data will be lost. Read-only runs on such files need no flag. (--destroy-data-on-device is the old name.)")
    var destroyDataOnDevice = false

    var safety: DeviceSafety { DeviceSafety(allowWrites: allowWrites, acceptSignatures: destroyDataOnDevice) }
}
