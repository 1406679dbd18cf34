/// The `vqtrace sweep` command that measures the same thing again with more runs: what a report
/// tells a user to run when its runs cannot answer yet.
enum SweepCommandLine {
    /// With `keepBackEnds`, the sweep's `--back-ends` too (a suggestion of other layouts leaves
    /// them out: qemu-storage-daemon 7.2 serves only single).
    static func make(_ input: ReportInput, layouts: [String], repeats: Int, keepBackEnds: Bool = true) -> String {
        var words = ["vqtrace", "sweep", input.tracePath.map { $0.isEmpty ? "TRACE" : $0 } ?? "TRACE"]
        words += ["--layouts", layouts.joined(separator: ",")]
        if keepBackEnds, let backEnds = input.plan?.backEnds {
            // Labels say "vhost-user SOCKET"; the option says vhost-user:SOCKET.
            words += ["--back-ends", backEnds.map { $0.hasPrefix("vhost-user ") ? "vhost-user:" + $0.dropFirst("vhost-user ".count) : $0 }.joined(separator: ",")]
        }
        words += ["--repeat", "\(repeats)"]
        if input.backend == "null" || input.target.isEmpty || input.target == "null" {
            words += ["--backend", "null"]
        } else {
            words += ["--target", input.target]
            if !input.backend.isEmpty { words += ["--backend", input.backend] }
            // The runs wrote to this device already; the sweep refuses to without the flag.
            if input.target.hasPrefix("/dev/") { words.append("--allow-writes") }
        }
        if !input.timing.isEmpty { words += ["--timing", input.timing] }
        if let qd = input.plan?.queueDepth { words += ["--qd", "\(qd)"] }
        let vmCounts = input.plan?.vmCounts ?? [input.vms]
        if vmCounts != [1] { words += ["--vms", vmCounts.map(String.init).joined(separator: ",")] }
        // The same catalog, so the new runs sit beside these, and the same report file.
        if let catalog = input.catalogArgument { words += ["--catalog", catalog] }
        if let report = input.reportPath { words += ["--report", report] }
        return words.map(shellQuoted).joined(separator: " ")
    }

    /// A word as a POSIX shell reads it back: bare when it is plain, else in single quotes.
    static func shellQuoted(_ word: String) -> String {
        let plain = word.unicodeScalars.allSatisfy { scalar in
            (scalar.value < 128 && (scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar))))
                || "_./:,=+-@%".unicodeScalars.contains(scalar)
        }
        if plain && !word.isEmpty { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
