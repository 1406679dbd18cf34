import Foundation

/// What `filefrag -v` (e2fsprogs) says about a file: an independent look at its extents, to
/// cross-check vqtrace's own FIEMAP reading.
public struct FilefragReport {
    /// Blocks of `blockSize` bytes in extents flagged `unwritten`, and blocks in no extent (holes).
    public var unwrittenBlocks: UInt64 = 0
    public var holeBlocks: UInt64 = 0
    public var blockSize: UInt64 = 0
    public var extents = 0
    public var text = ""

    /// Runs filefrag -v on `path`; nil when filefrag is not installed.
    public static func of(_ path: String) throws -> FilefragReport? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/filefrag") else { return nil }
        let result = try runChild("/usr/sbin/filefrag", ["-v", path])
        var report = FilefragReport()
        report.text = result.text
        var fileBlocks: UInt64 = 0
        var covered: UInt64 = 0
        for line in result.text.split(separator: "\n") {
            // "File size of x is 268435456 (65536 blocks of 4096 bytes)"
            if line.hasPrefix("File size of"), let open = line.lastIndex(of: "(") {
                let words = line[line.index(after: open)...].split(separator: " ")
                if words.count >= 4 { fileBlocks = UInt64(words[0]) ?? 0; report.blockSize = UInt64(words[3]) ?? 0 }
                continue
            }
            // "   0:        0..   14335:   22251520..  22265855:  14336:            unwritten,last,eof"
            let columns = line.split(separator: ":", omittingEmptySubsequences: false)
            guard columns.count >= 4, Int(columns[0].trimmingCharacters(in: .whitespaces)) != nil else { continue }
            let logical = columns[1].split(separator: ".").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
            guard logical.count == 2 else { continue }
            let length = logical[1] - logical[0] + 1
            report.extents += 1
            covered += length
            if columns.last!.contains("unwritten") { report.unwrittenBlocks += length }
        }
        report.holeBlocks = fileBlocks > covered ? fileBlocks - covered : 0
        return report
    }
}
