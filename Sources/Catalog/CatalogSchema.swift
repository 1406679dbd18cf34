import GRDB

/// The catalog's tables, created and evolved by GRDB migrations. Each migration is append-only:
/// a released migration is never edited, a change is a new migration.
enum CatalogSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        // Traces and their chunks: an index of .vqt files, rebuildable from the files.
        migrator.registerMigration("v1 traces and chunks") { db in
            try db.create(table: "trace") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("path", .text).notNull().unique()
                t.column("name", .text).notNull()
                t.column("formatVersion", .text).notNull()
                t.column("createdAt", .text).notNull()
                t.column("sourceKind", .text).notNull()
                t.column("sourceName", .text).notNull()
                t.column("metadataJSON", .text).notNull()
                t.column("fileSize", .integer).notNull()
                t.column("complete", .boolean).notNull()
                t.column("recovery", .text)
                t.column("records", .integer).notNull()
                t.column("reads", .integer).notNull()
                t.column("writes", .integer).notNull()
                t.column("flushes", .integer).notNull()
                t.column("others", .integer).notNull()
                t.column("firstSubmitNs", .integer).notNull()
                t.column("lastSubmitNs", .integer).notNull()
                t.column("chunkCount", .integer).notNull()
                t.column("indexedAt", .text).notNull()
            }
            try db.create(table: "traceDevice") { t in
                t.column("traceId", .integer).notNull().references("trace", onDelete: .cascade)
                t.column("device", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("capacitySectors", .integer).notNull()
                t.column("logicalBlockSize", .integer).notNull()
                t.column("numQueues", .integer).notNull()
                t.column("queueSize", .integer).notNull()
                t.primaryKey(["traceId", "device"])
            }
            try db.create(table: "traceChunk") { t in
                t.column("traceId", .integer).notNull().references("trace", onDelete: .cascade)
                t.column("chunkIndex", .integer).notNull()
                t.column("offset", .integer).notNull()
                t.column("length", .integer).notNull()
                t.column("firstSubmitNs", .integer).notNull()
                t.column("lastSubmitNs", .integer).notNull()
                t.column("records", .integer).notNull()
                t.column("queueSet", .text).notNull()
                t.primaryKey(["traceId", "chunkIndex"])
            }
            try db.create(index: "traceChunkTime", on: "traceChunk", columns: ["traceId", "firstSubmitNs"])
        }

        // Replay runs and their results (filled by `replay` and `sweep`). A run keeps the trace's
        // path and name, so that results survive the trace file's removal.
        migrator.registerMigration("v1 runs and results") { db in
            try db.create(table: "sweep") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("traceId", .integer).references("trace", onDelete: .setNull)
                t.column("createdAt", .text).notNull()
                t.column("parametersJSON", .text).notNull()
            }
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("traceId", .integer).references("trace", onDelete: .setNull)
                t.column("tracePath", .text).notNull()
                t.column("sweepId", .integer).references("sweep", onDelete: .cascade)
                t.column("layoutSpec", .text).notNull()
                t.column("layoutJSON", .text).notNull()
                t.column("backend", .text).notNull()
                t.column("timing", .text).notNull()
                t.column("speed", .double).notNull()
                t.column("windowFromNs", .integer)
                t.column("windowToNs", .integer)
                t.column("vms", .integer).notNull().defaults(to: 1)
                t.column("target", .text).notNull()
                t.column("hostJSON", .text).notNull()
                t.column("startedAt", .text).notNull()
                t.column("endedAt", .text)
                t.column("warning", .text)
                t.column("summaryJSON", .text)
            }
            try db.create(table: "runIOThread") { t in
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("iothread", .text).notNull()
                t.column("requests", .integer).notNull()
                t.column("passes", .integer).notNull()
                t.column("kicks", .integer).notNull()
                t.column("notifications", .integer).notNull()
                t.column("cpuPercent", .double)
                t.primaryKey(["runId", "iothread"])
            }
            try db.create(table: "runQueue") { t in
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("device", .integer).notNull()
                t.column("vq", .integer).notNull()
                t.column("requests", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.column("latencyHistogram", .blob)
                t.primaryKey(["runId", "device", "vq"])
            }
            try db.create(table: "runTimeline") { t in
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("bucket", .integer).notNull()
                t.column("requests", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.primaryKey(["runId", "bucket"])
            }
        }
        // Which file a row describes: a trace replaced under the same path gets a new row (and
        // id), and a run remembers the fingerprint of the file it replayed.
        migrator.registerMigration("v2 trace fingerprints") { db in
            try db.alter(table: "trace") { t in t.add(column: "fingerprint", .text) }
            try db.alter(table: "run") { t in t.add(column: "traceFingerprint", .text) }
        }
        return migrator
    }
}
