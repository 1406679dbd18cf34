import Foundation
import Units

/// Turns a command-line layout spec into a validated `IOThreadLayout`:
///
/// | spec | meaning |
/// |---|---|
/// | `single` | all vqs on one IOThread (QEMU before 9.0) |
/// | `rr:N` | N IOThreads, vqs dealt round-robin |
/// | `per-vq` | one IOThread per vq |
/// | `qemu:TEXT`, `qemu:@FILE` | QEMU `-object iothread` / `-device` JSON, or a mapping array |
/// | `libvirt:FILE` | a libvirt domain XML |
public enum LayoutSpec {
    public static let help = """
        LAYOUT is one of:
          single         all vqs on one IOThread (QEMU before 9.0)
          rr:N           N IOThreads, vq k on IOThread k mod N (QEMU round-robin)
          per-vq         one IOThread per vq
          qemu:JSON      a QEMU -device JSON object (iothread-vq-mapping or
                         iothread), or a bare iothread-vq-mapping array
          qemu:@FILE     the same, or -object iothread,... and -device lines,
                         read from FILE
          libvirt:FILE   a libvirt domain XML (<iothreadids>, <cputune>
                         <iothreadpin>, each virtio <disk>'s <driver>)
        """

    public static func parse(_ spec: String, numQueues: Int?) throws(LayoutError) -> IOThreadLayout {
        if let n = numQueues, !(1...1024).contains(n) { throw .invalidNumQueues(n) }
        switch spec {
        case "single":
            guard let n = numQueues else { throw .numQueuesRequired(spec) }
            return .single(numQueues: n)
        case "per-vq":
            guard let n = numQueues else { throw .numQueuesRequired(spec) }
            return .perVQ(numQueues: n)
        default:
            break
        }
        if spec.hasPrefix("rr:") {
            guard let count = Int(spec.dropFirst(3)), (1...1024).contains(count) else {
                throw .invalidSpec("layout '\(spec)': rr:N needs a number of IOThreads in 1...1024")
            }
            guard let n = numQueues else { throw .numQueuesRequired(spec) }
            return .roundRobin(iothreadCount: count, numQueues: n)
        }
        if spec.hasPrefix("qemu:") {
            let body = String(spec.dropFirst(5))
            let text = body.hasPrefix("@") ? try read(String(body.dropFirst())) : body
            do {
                return try QEMULayoutFormat.parse(text, numQueues: numQueues)
            } catch {
                if body.hasPrefix("@") { throw .file(path: String(body.dropFirst()), error.description) }
                throw error
            }
        }
        if spec.hasPrefix("libvirt:") {
            let path = String(spec.dropFirst(8))
            let text = try read(path)
            do {
                return try LibvirtLayoutFormat.parse(text, numQueues: numQueues)
            } catch {
                throw .file(path: path, error.description)
            }
        }
        // A misspelled keyword ("singel", "pervq", "rr2") gets the nearest one.
        let keyword = spec.split(separator: ":", maxSplits: 1).first.map(String.init) ?? spec
        let nearest = OptionError.nearest(spec.hasPrefix("rr") ? "rr" : keyword, in: ["single", "per-vq", "rr", "qemu", "libvirt"])
        let hint = nearest.map { $0 == "rr" ? " (did you mean 'rr:N', e.g. rr:2?)" : " (did you mean '\($0)\($0 == "qemu" || $0 == "libvirt" ? ":…" : "")'?)" } ?? ""
        throw .invalidSpec("unknown layout '\(spec)'\(hint).\n\(help)")
    }

    static func read(_ path: String) throws(LayoutError) -> String {
        guard !path.isEmpty else { throw .invalidSpec("a file path is needed after '@' or 'libvirt:'") }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .file(path: path, "cannot read: \((error as NSError).localizedDescription)")
        }
    }
}
