import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private folder for the socket of a back-end vqtrace starts (qemu-storage-daemon, an
/// in-process serve): named after this process so that a leftover is traceable, removed by its
/// owner when the back-end stops.
enum SocketFolder {
    /// Makes `SCRATCH/vqtrace-KIND-PID-RANDOM` and returns it with the socket path inside it;
    /// `owner` names the back-end in the error.
    static func make(kind: String, in scratch: String, owner: String) throws(VhostUserFrontEndError) -> (directory: String, socket: String) {
        let directory = (scratch as NSString).appendingPathComponent("vqtrace-\(kind)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw VhostUserFrontEndError("cannot make \(directory) for \(owner)'s socket: \(error.localizedDescription)")
        }
        return (directory, (directory as NSString).appendingPathComponent("vhost.sock"))
    }
}
