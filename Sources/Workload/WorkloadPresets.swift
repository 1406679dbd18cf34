/// The named OLTP models. docs/WORKLOADS.md gives each value and where it comes from.
public enum OLTPPreset: String, CaseIterable, Sendable {
    case oltp
    case oracle = "oltp-oracle"
    case postgres = "oltp-postgres"

    public var parameters: OLTPParameters {
        var p = OLTPParameters()
        p.name = rawValue
        switch self {
        case .oltp:
            break
        case .oracle:
            // 8 KiB db_block_size; LGWR group-commits redo (small writes, median near 8 KiB);
            // DBWR writes dirty blocks in checkpoint bursts.
            p.pageBytes = 8192
            p.commitLogMedianBytes = 3072
            p.groupCommitWindowSeconds = 0.0002
            p.checkpointIntervalSeconds = 30
        case .postgres:
            // 8 kB BLCKSZ; WAL in 16 MiB segments; full_page_writes after each checkpoint start;
            // checkpoint_timeout 5 min; commit_delay 0 (a commit joins whatever flush is open).
            p.pageBytes = 8192
            p.commitLogMedianBytes = 2048
            p.groupCommitWindowSeconds = 0.0001
            p.logSegmentBytes = 16 << 20
            p.fullPageWriteAfterCheckpoint = true
            p.checkpointIntervalSeconds = 300
        }
        return p
    }
}
