/// The formats a trace can be exported to, and the one call that writes any of them.
public enum ExportFormat: String, CaseIterable, Sendable {
    case fioIolog = "fio-iolog", blkparse, csv

    /// Writes `tracePath` as this format into `out` (whole or not at all). `fioFileNames` names
    /// each device's file in a fio iolog.
    public func export(tracePath: String, out: String, fioFileNames: [String]? = nil, replaceExisting: Bool = false) throws -> ExportResult {
        switch self {
        case .fioIolog: return try FioIologExporter.export(tracePath: tracePath, out: out, fileNames: fioFileNames, replaceExisting: replaceExisting)
        case .blkparse: return try BlkparseExporter.export(tracePath: tracePath, out: out, replaceExisting: replaceExisting)
        case .csv: return try CSVExporter.export(tracePath: tracePath, out: out, replaceExisting: replaceExisting)
        }
    }
}
