import Foundation
import GRDB
import Trace

/// The catalog's tables, created and evolved by migrations, the same list under the same names
/// on both stores: GRDB's migrator on SQLite, `postgresMigrations` (the same tables in
/// PostgreSQL's types) on PostgreSQL. Each migration is append-only: a released migration is
/// never edited, a change is a new migration.
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
        // Every row says which host it came from. A trace is one host's file: a path is unique on
        // its host, and two hosts' files at the same path are two traces. SQLite cannot drop the
        // UNIQUE(path) of v1, so the table is rebuilt (GRDB runs a migration with foreign keys
        // off and checks them all before it commits). Rows from before were this machine's.
        migrator.registerMigration("v3 hosts") { db in
            let old = traceColumnsV2.joined(separator: ", ")
            try db.execute(sql: """
                CREATE TABLE trace_v3 (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, name TEXT NOT NULL,
                  formatVersion TEXT NOT NULL, createdAt TEXT NOT NULL, sourceKind TEXT NOT NULL, sourceName TEXT NOT NULL,
                  metadataJSON TEXT NOT NULL, fileSize INTEGER NOT NULL, complete BOOLEAN NOT NULL, recovery TEXT,
                  records INTEGER NOT NULL, reads INTEGER NOT NULL, writes INTEGER NOT NULL, flushes INTEGER NOT NULL,
                  others INTEGER NOT NULL, firstSubmitNs INTEGER NOT NULL, lastSubmitNs INTEGER NOT NULL,
                  chunkCount INTEGER NOT NULL, indexedAt TEXT NOT NULL, fingerprint TEXT,
                  host TEXT NOT NULL DEFAULT '', hostCPUModel TEXT, hostCPUs INTEGER, hostKernel TEXT, targetModel TEXT,
                  UNIQUE (host, path));
                INSERT INTO trace_v3 (\(old), host) SELECT \(old), ? FROM trace;
                DROP TABLE trace;
                ALTER TABLE trace_v3 RENAME TO trace;
                CREATE INDEX traceName ON trace (name);
                """, arguments: [TraceMetadata.Host.current().hostname])
            for statement in hostColumnsSQL(integer: "INTEGER", skipTrace: true) { try db.execute(sql: statement) }
            try db.execute(sql: "UPDATE run SET host = COALESCE(json_extract(hostJSON, '$.hostname'), '')")
            try db.execute(sql: "UPDATE sweep SET host = COALESCE((SELECT host FROM run WHERE run.sweepId = sweep.id ORDER BY id LIMIT 1), '')")
        }
        migrator.registerMigration("v4 trace bytes") { db in
            for statement in traceBytesSQL(blob: "BLOB") { try db.execute(sql: statement) }
        }
        // What `traces verify` found wrong with the file (nil: never verified, or intact).
        migrator.registerMigration("v5 trace damage") { db in
            for statement in traceDamageSQL { try db.execute(sql: statement) }
        }
        return migrator
    }

    /// The trace table's columns up to v2, which v3 copies.
    static let traceColumnsV2 = [
        "id", "path", "name", "formatVersion", "createdAt", "sourceKind", "sourceName", "metadataJSON", "fileSize", "complete",
        "recovery", "records", "reads", "writes", "flushes", "others", "firstSubmitNs", "lastSubmitNs", "chunkCount", "indexedAt",
        "fingerprint",
    ]

    /// v3's host columns on run and sweep (and trace, on PostgreSQL, where ALTER can add them).
    static func hostColumnsSQL(integer: String, skipTrace: Bool) -> [String] {
        let facts = ["host TEXT NOT NULL DEFAULT ''", "hostCPUModel TEXT", "hostCPUs \(integer)", "hostKernel TEXT", "targetModel TEXT"]
        var statements: [String] = []
        for table in (skipTrace ? [] : ["trace"]) + ["run"] {
            statements += facts.map { "ALTER TABLE \(table) ADD COLUMN \($0)" }
        }
        statements += ["ALTER TABLE sweep ADD COLUMN host TEXT NOT NULL DEFAULT ''", "ALTER TABLE sweep ADD COLUMN traceFingerprint TEXT",
                       "CREATE INDEX runSweep ON run (sweepId)", "CREATE INDEX sweepHost ON sweep (host, id)"]
        return statements
    }

    /// v4: a pushed trace's bytes: its header and trailer on the trace row, each chunk on its row.
    static func traceBytesSQL(blob: String) -> [String] {
        ["ALTER TABLE trace ADD COLUMN headerBytes \(blob)", "ALTER TABLE trace ADD COLUMN trailerBytes \(blob)",
         "ALTER TABLE traceChunk ADD COLUMN bytes \(blob)"]
    }

    /// v5: the damage `traces verify` last found in the file, one line (chunks and records lost),
    /// NULL when it was intact or never verified. The same text type on both stores.
    static let traceDamageSQL = ["ALTER TABLE trace ADD COLUMN damage TEXT"]

    /// Every catalog column name as the schema spells it, by its lower-case form: PostgreSQL
    /// answers `traceid` for `traceId`, and `rows()` gives back the catalog's own spelling.
    static let canonicalNames: [String: String] = {
        let names = traceColumnsV2 + [
            "host", "hostCPUModel", "hostCPUs", "hostKernel", "targetModel", "headerBytes", "trailerBytes", "bytes",
            "traceId", "device", "capacitySectors", "logicalBlockSize", "numQueues", "queueSize", "chunkIndex", "offset", "length",
            "queueSet", "parametersJSON", "tracePath", "sweepId", "layoutSpec", "layoutJSON", "backend", "timing", "speed",
            "windowFromNs", "windowToNs", "vms", "target", "hostJSON", "startedAt", "endedAt", "warning", "summaryJSON",
            "traceFingerprint", "runId", "iothread", "requests", "passes", "kicks", "notifications", "cpuPercent", "vq",
            "latencyHistogram", "bucket", "damage",
        ]
        return Dictionary(names.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
    }()

    static func canonicalName(_ name: String) -> String { canonicalNames[name.lowercased()] ?? name }

    /// The same migrations for PostgreSQL, by name, in order: ids are sequences (identity
    /// columns), so that hosts inserting at once never collide; integers are bigint.
    static let postgresMigrations: [(name: String, statements: [String])] = [
        ("v1 traces and chunks", [
            """
            CREATE TABLE trace (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, path text NOT NULL UNIQUE, name text NOT NULL,
              formatVersion text NOT NULL, createdAt text NOT NULL, sourceKind text NOT NULL, sourceName text NOT NULL,
              metadataJSON text NOT NULL, fileSize bigint NOT NULL, complete boolean NOT NULL, recovery text,
              records bigint NOT NULL, reads bigint NOT NULL, writes bigint NOT NULL, flushes bigint NOT NULL, others bigint NOT NULL,
              firstSubmitNs bigint NOT NULL, lastSubmitNs bigint NOT NULL, chunkCount bigint NOT NULL, indexedAt text NOT NULL)
            """,
            """
            CREATE TABLE traceDevice (traceId bigint NOT NULL REFERENCES trace (id) ON DELETE CASCADE, device bigint NOT NULL,
              name text NOT NULL, capacitySectors bigint NOT NULL, logicalBlockSize bigint NOT NULL, numQueues bigint NOT NULL,
              queueSize bigint NOT NULL, PRIMARY KEY (traceId, device))
            """,
            """
            CREATE TABLE traceChunk (traceId bigint NOT NULL REFERENCES trace (id) ON DELETE CASCADE, chunkIndex bigint NOT NULL,
              "offset" bigint NOT NULL, length bigint NOT NULL, firstSubmitNs bigint NOT NULL, lastSubmitNs bigint NOT NULL,
              records bigint NOT NULL, queueSet text NOT NULL, PRIMARY KEY (traceId, chunkIndex))
            """,
            "CREATE INDEX traceChunkTime ON traceChunk (traceId, firstSubmitNs)",
        ]),
        ("v1 runs and results", [
            """
            CREATE TABLE sweep (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
              traceId bigint REFERENCES trace (id) ON DELETE SET NULL, createdAt text NOT NULL, parametersJSON text NOT NULL)
            """,
            """
            CREATE TABLE run (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
              traceId bigint REFERENCES trace (id) ON DELETE SET NULL, tracePath text NOT NULL,
              sweepId bigint REFERENCES sweep (id) ON DELETE CASCADE, layoutSpec text NOT NULL, layoutJSON text NOT NULL,
              backend text NOT NULL, timing text NOT NULL, speed double precision NOT NULL, windowFromNs bigint, windowToNs bigint,
              vms bigint NOT NULL DEFAULT 1, target text NOT NULL, hostJSON text NOT NULL, startedAt text NOT NULL, endedAt text,
              warning text, summaryJSON text)
            """,
            """
            CREATE TABLE runIOThread (runId bigint NOT NULL REFERENCES run (id) ON DELETE CASCADE, iothread text NOT NULL,
              requests bigint NOT NULL, passes bigint NOT NULL, kicks bigint NOT NULL, notifications bigint NOT NULL,
              cpuPercent double precision, PRIMARY KEY (runId, iothread))
            """,
            """
            CREATE TABLE runQueue (runId bigint NOT NULL REFERENCES run (id) ON DELETE CASCADE, device bigint NOT NULL,
              vq bigint NOT NULL, requests bigint NOT NULL, bytes bigint NOT NULL, latencyHistogram bytea, PRIMARY KEY (runId, device, vq))
            """,
            """
            CREATE TABLE runTimeline (runId bigint NOT NULL REFERENCES run (id) ON DELETE CASCADE, bucket bigint NOT NULL,
              requests bigint NOT NULL, bytes bigint NOT NULL, PRIMARY KEY (runId, bucket))
            """,
        ]),
        ("v2 trace fingerprints", ["ALTER TABLE trace ADD COLUMN fingerprint text", "ALTER TABLE run ADD COLUMN traceFingerprint text"]),
        ("v3 hosts", hostColumnsSQL(integer: "bigint", skipTrace: false) + [
            "ALTER TABLE trace DROP CONSTRAINT trace_path_key",
            "ALTER TABLE trace ADD CONSTRAINT trace_host_path_key UNIQUE (host, path)",
            "CREATE INDEX traceName ON trace (name)",
        ]),
        ("v4 trace bytes", traceBytesSQL(blob: "bytea")),
        ("v5 trace damage", traceDamageSQL),
    ]
}
