import BlockBackend
import Foundation

/// How the CLI shows a target's preparation: a progress bar while it is filled (on a TTY), and
/// the preparation as a JSON object for --json output.
enum TargetPreparationOutput {
    /// A bar on stderr ("filling /tmp/x.img [#####.....] 40%") while a fill runs; nil (no
    /// callback) when the output is for a program.
    static func fillProgress(enabled: Bool = true) -> TargetFill.ProgressHandler? {
        guard enabled, isatty(2) != 0 else { return nil }
        let bar = FillBar()
        return { bar.update($0) }
    }

    /// The preparation as fio-style snake_case JSON.
    static func json(_ p: TargetPreparation) -> [String: Any] {
        [
            "kind": p.kind.rawValue, "path": p.path ?? NSNull(), "created_by_vqtrace": p.createdByVqtrace, "created_now": p.createdNow,
            "marked": p.marked, "filesystem": p.filesystem ?? NSNull(), "sparse": p.sparse, "needed_bytes": p.neededBytes,
            "capacity_bytes": p.capacityBytes, "unwritten_bytes_before": p.unwrittenBytesBefore, "filled_bytes": p.filledBytes,
            "fill_seconds": p.fillSeconds, "fill_mb_per_second": p.fillMBPerSecond ?? NSNull(),
            "unwritten_bytes_after": p.unwrittenBytesAfter, "detection": p.detection?.rawValue ?? NSNull(), "summary": p.summary,
        ]
    }
}

/// The bar itself: redrawn when the per-mille changes, cleared when the fill is done. Called
/// from the filling thread only.
private final class FillBar: @unchecked Sendable {
    private var bar: Progress?
    private var shown = -1

    func update(_ p: TargetFill.Progress) {
        if bar == nil { bar = Progress(total: 1000, label: "filling the target with data (\(Format.bytes(p.bytesTotal)))") }
        let permille = p.bytesTotal > 0 ? Int(p.bytesDone * 1000 / p.bytesTotal) : 1000
        if permille != shown {
            shown = permille
            bar?.update(permille)
        }
        if p.bytesDone >= p.bytesTotal {
            bar?.finish()
            bar = nil
            shown = -1
        }
    }
}
