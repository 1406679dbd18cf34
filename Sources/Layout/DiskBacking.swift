/// The image or device behind a virtio-blk device and how QEMU opens it: what QEMU's
/// `-blockdev` and libvirt's `<disk>` say about the disk, beside the layout's IOThreads, so that
/// an emitted configuration can be pasted whole.
public struct DiskBacking: Sendable, Hashable {
    /// How the host reaches the disk.
    public enum Kind: String, Sendable, Hashable {
        /// An image file: QEMU protocol driver `file`, libvirt `<disk type='file'>`.
        case file
        /// A block device: QEMU protocol driver `host_device`, libvirt `<disk type='block'>`.
        case blockDevice = "block"

        /// QEMU's protocol driver for `-blockdev`.
        public var qemuDriver: String { self == .file ? "file" : "host_device" }
        /// libvirt's `<disk type=…>`.
        public var libvirtType: String { self == .file ? "file" : "block" }
        /// The attribute of libvirt's `<source>` that names the disk.
        public var libvirtSourceAttribute: String { self == .file ? "file" : "dev" }
    }

    /// The image format on the disk: QEMU's format driver and libvirt's `<driver type=…>`.
    public enum ImageFormat: String, Sendable, Hashable {
        case raw
        case qcow2

        /// The qcow2 header magic, "QFI" and 0xfb; anything else is read as raw.
        public static let qcow2Magic: [UInt8] = [0x51, 0x46, 0x49, 0xFB]

        /// The format the first bytes of an image or device say it has.
        public static func detect(header: some Collection<UInt8>) -> ImageFormat {
            header.starts(with: qcow2Magic) ? .qcow2 : .raw
        }
    }

    /// How QEMU submits I/O (`aio=`; libvirt `io=`).
    public enum AIO: String, Sendable, Hashable {
        /// Linux AIO; QEMU requires `cache.direct=on` for it.
        case native
        case ioUring = "io_uring"
        /// A thread pool of blocking preadv/pwritev calls.
        case threads
    }

    public var kind: Kind
    /// The path the VM host opens: an image file or a block device.
    public var path: String
    public var format: ImageFormat
    public var aio: AIO
    /// O_DIRECT (`cache.direct=on`, libvirt `cache='none'`): no host page cache.
    public var cacheDirect: Bool

    /// The disk of the `index`-th device of a layout: the first keeps the path, the others get
    /// their device name before the extension (`vm-disk.img` → `vm-disk-vdb.img`), so that no
    /// two devices of one emitted configuration name the same image.
    public func forDevice(_ name: String, index: Int) -> DiskBacking {
        guard index > 0 else { return self }
        var copy = self
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        if let dot = path[slash...].lastIndex(of: "."), dot > slash {
            copy.path = String(path[..<dot]) + "-\(name)" + String(path[dot...])
        } else {
            copy.path = path + "-\(name)"
        }
        return copy
    }

    public init(kind: Kind, path: String, format: ImageFormat = .raw, aio: AIO = .native, cacheDirect: Bool = true) {
        self.kind = kind
        self.path = path
        self.format = format
        self.aio = aio
        self.cacheDirect = cacheDirect
    }

    /// libvirt's `cache=`: `none` is O_DIRECT with the guest's write cache honoured (QEMU's
    /// cache.direct=on, cache.no-flush=off).
    public var libvirtCache: String { cacheDirect ? "none" : "writeback" }
}
