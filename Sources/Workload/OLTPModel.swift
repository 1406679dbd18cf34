import Foundation
import Trace

/// A TPROC-C-like OLTP database, as the block device sees it. HammerDB virtual users run
/// transactions in a closed loop on their vCPUs; a log writer and a database writer each have a
/// vCPU of their own. Every parameter and its source is in docs/WORKLOADS.md.
public struct OLTPParameters: Sendable, Equatable {
    public var name = "oltp"
    public var vcpus = 8
    public var users = 50
    public var durationSeconds = 60.0
    public var capacityBytes: UInt64 = 100 << 30
    /// Database page (and buffer-cache miss) size.
    public var pageBytes: UInt32 = 8192
    /// Share of the device holding the log (at its end); the rest is the data area.
    public var logFraction = 0.04
    /// Hot set: this share of the pages gets `hotAccessShare` of the misses.
    public var hotPageShare = 0.2
    public var hotAccessShare = 0.8
    /// Buffer-cache misses per transaction (mean of a geometric count), and pages it dirties.
    public var readsPerTransaction = 4.0
    public var dirtiedPagesPerTransaction = 2.5
    /// Redo/WAL bytes a commit adds: log-normal, median and shape; clamped to 512 B...60 KiB.
    public var commitLogMedianBytes = 3072.0
    public var commitLogSigma = 0.8
    /// A commit waits this long for others to join its log write (group commit).
    public var groupCommitWindowSeconds = 0.0002
    /// User think and keying time between transactions (HammerDB runs without by default).
    public var thinkSeconds = 0.0
    public var keyingSeconds = 0.0
    /// The checkpointer writes the dirty pages every interval, merged up to 256 KiB.
    public var checkpointIntervalSeconds = 30.0
    public var checkpointMergeBytes: UInt32 = 256 << 10
    public var checkpointWritesPerSecond = 100_000.0
    /// After a checkpoint starts, the first change to a page logs the whole page (PostgreSQL's
    /// full_page_writes); 0 turns it off.
    public var fullPageWriteAfterCheckpoint = false
    /// The log advances in segments of this size (PostgreSQL WAL: 16 MiB); 0 = one circular log.
    public var logSegmentBytes: UInt64 = 0
    /// Nominal device service times, for completion times and for pacing the closed loops.
    public var readServiceSeconds = 0.00015
    public var writeServiceSeconds = 0.00006
    public var flushServiceSeconds = 0.0002
    public var seed: UInt64 = 1

    public init() {}

    /// The values written into the trace's metadata, so that the trace can be made again.
    public var asParameters: [String: String] {
        [
            "vcpus": "\(vcpus)", "users": "\(users)", "duration_s": "\(durationSeconds)", "capacity_bytes": "\(capacityBytes)",
            "page_bytes": "\(pageBytes)", "log_fraction": "\(logFraction)", "hot_page_share": "\(hotPageShare)",
            "hot_access_share": "\(hotAccessShare)", "reads_per_txn": "\(readsPerTransaction)", "dirtied_pages_per_txn": "\(dirtiedPagesPerTransaction)",
            "commit_log_median_bytes": "\(commitLogMedianBytes)", "group_commit_window_s": "\(groupCommitWindowSeconds)",
            "think_s": "\(thinkSeconds)", "keying_s": "\(keyingSeconds)", "checkpoint_interval_s": "\(checkpointIntervalSeconds)",
            "full_page_writes": "\(fullPageWriteAfterCheckpoint)", "log_segment_bytes": "\(logSegmentBytes)", "seed": "\(seed)",
        ]
    }

    /// Checks every parameter a user can set; the generator refuses to start otherwise.
    public func validate() throws(WorkloadError) {
        try WorkloadError.check(vcpus, "--vcpus", in: 1...1024)
        try WorkloadError.check(users, "--users", in: 1...100_000)
        guard durationSeconds.isFinite && durationSeconds > 0 && durationSeconds <= WorkloadError.longestSeconds else {
            throw WorkloadError("--duration must be positive and at most 30 days; \(durationSeconds) s is not")
        }
        try WorkloadError.check(thinkSeconds, "--think (seconds)", in: 0...86_400)
        try WorkloadError.check(keyingSeconds, "--keying (seconds)", in: 0...86_400)
        guard checkpointIntervalSeconds.isFinite && checkpointIntervalSeconds > 0 && checkpointIntervalSeconds <= WorkloadError.longestSeconds else {
            throw WorkloadError("--checkpoint-interval must be positive and at most 30 days; \(checkpointIntervalSeconds) s is not")
        }
        guard hotPageShare.isFinite && hotPageShare > 0 && hotPageShare <= 1 else {
            throw WorkloadError("--hot-set must be a share of the pages in (0, 1]; \(hotPageShare) is not")
        }
        try WorkloadError.check(hotAccessShare, "hot access share", in: 0...1)
        try WorkloadError.check(logFraction, "log fraction", in: 0...0.5)
        guard pageBytes >= 512 && pageBytes % 512 == 0 && pageBytes <= 1 << 20 else {
            throw WorkloadError("page size must be a multiple of 512 up to 1 MiB; \(pageBytes) is not")
        }
        guard capacityBytes % 512 == 0 && capacityBytes > 0 else {
            throw WorkloadError("--capacity must be a positive multiple of 512 bytes; \(capacityBytes) is not")
        }
        // The log area is at least one segment (or 64 KiB); the data area must hold pages too.
        let unit = logSegmentBytes > 0 ? logSegmentBytes : 64 << 10
        let smallest = unit + 64 * UInt64(pageBytes)
        guard capacityBytes >= smallest else {
            throw WorkloadError("--capacity \(capacityBytes) bytes is too small for \(name): its log takes \(logSegmentBytes > 0 ? "one \(unit >> 20) MiB WAL segment" : "64 KiB") "
                                + "and its data at least 64 pages; give at least \((smallest + (1 << 20) - 1) >> 20)m")
        }
    }

    /// vq of the log writer, of the database writer, and of the first user vCPU.
    var logVQ: UInt16 { 0 }
    var writerVQ: UInt16 { vcpus > 1 ? 1 : 0 }
    var userVQs: [UInt16] { vcpus > 2 ? (2..<vcpus).map { UInt16($0) } : [UInt16(vcpus - 1)] }
}
