import Foundation
import Testing
import TestSupport
@testable import Trace

/// No number a user types may trap: every numeric option of every subcommand (found from the
/// CLI's own description of itself, so a new option is covered without editing this test) gets
/// values chosen to break arithmetic — negative, zero, the 64-bit edges and one past them,
/// NaN, infinities, sizes that overflow — and each run must end with an exit status (0, 1 or 2),
/// never a signal.
@Suite("Numeric options never trap", .serialized)
struct NumericOptionFuzzTests {
    /// The values thrown at options; each option gets a seeded selection of them.
    static let hostileValues = [
        "-1", "0", "-0", "-5s", "-0.001", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
        "18446744073709551616", "1e308", "-1e308", "nan", "inf", "-inf", "99999999999t", "17179869184g", "1e-320", "4294967297",
    ]

    /// An option of a subcommand, as `--experimental-dump-help` describes it.
    struct NumericOption {
        var command: [String]
        var name: String
    }

    /// The subcommands' options whose default (or value name) is a number, a size or a duration.
    static func numericOptions() throws -> [NumericOption] {
        let dump = try runChild(vqtraceExecutable(), ["--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: dump.output) as? [String: Any])
        var found: [NumericOption] = []
        func walk(_ command: [String: Any], path: [String]) {
            for argument in command["arguments"] as? [[String: Any]] ?? [] where argument["kind"] as? String == "option" {
                guard let names = argument["names"] as? [[String: Any]],
                      let long = names.first(where: { $0["kind"] as? String == "long" })?["name"] as? String else { continue }
                let value = argument["defaultValue"] as? String ?? ""
                let valueName = argument["valueName"] as? String ?? ""
                let numericDefault = value.range(of: #"^[0-9][0-9.,]*(s|ms|k|m|g|t)?$"#, options: .regularExpression) != nil
                let numericName = ["duration", "size", "capacity", "from", "to", "jitter", "think", "keying", "checkpoint-interval", "hot-set",
                                   "iops", "bs", "queues", "sweep", "num-queues", "speed"].contains(valueName)
                if numericDefault || numericName { found.append(NumericOption(command: path, name: long)) }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(sub, path: path + [sub["commandName"] as? String ?? ""])
            }
        }
        walk(try #require(root["command"] as? [String: Any]), path: [])
        return found
    }

    @Test("random hostile numbers at every numeric option of every subcommand end in an exit status, not a trap")
    func hostileNumbers() throws {
        let dir = ScratchDirectory()
        let catalog = dir.file("catalog.sqlite")
        #expect(try runVQTrace(["traces", "synth", "--out", dir.file("t.vqt"), "--requests", "2000", "--capacity", "64m", "--catalog", catalog], in: dir.path).status == 0)
        let log = dir.write("f.log", "fio version 3 iolog\n0 f add\n0 f open\n10 f read 0 4096\n20 f write 4096 4096\n30 f close\n")
        var counter = 0
        func fresh() -> String {
            counter += 1
            return dir.file("out-\(counter).vqt")
        }
        // Arguments that make each subcommand valid and quick, so that the option under test is
        // the only thing out of the ordinary.
        func base(_ command: [String]) -> [String]? {
            switch command {
            case ["demo"]: return ["demo", "--catalog", catalog]
            case ["generate"]: return ["generate", "--workload", "fio", "--duration", "20ms", "--capacity", "16m", "--out", fresh(), "--no-catalog"]
            case ["record"]: return ["record", "--workload", "fio", "--duration", "20ms", "--capacity", "16m", "--backend", "null", "--out", fresh(), "--no-catalog"]
            case ["serve"]: return ["serve", "--socket", dir.file("s.sock"), "--target", dir.file("disk.img")]
            case ["import"]: return ["import", log, "--out", fresh(), "--no-catalog"]
            case ["traces", "synth"]: return ["traces", "synth", "--out", fresh(), "--requests", "1000", "--no-catalog"]
            case ["replay"]: return ["replay", "t", "--backend", "null", "--timing", "afap", "--no-catalog", "--catalog", catalog]
            case ["sweep"]: return ["sweep", "t", "--backend", "null", "--layouts", "single", "--repeat", "1", "--report", dir.file("r.html"), "--catalog", catalog]
            case ["report"]: return ["report", "--catalog", catalog]
            case ["mapping", "check"]: return ["mapping", "check", "rr:2"]
            case ["mapping", "show"]: return ["mapping", "show", "rr:2"]
            case ["bench"]: return ["bench", "--component", "virtqueue", "--round-trips", "1000", "--repeats", "1"]
            default: return nil
            }
        }
        let options = try Self.numericOptions()
        #expect(options.count >= 40, "the dump found only \(options.count) numeric options")
        var rng = SplitMix64(state: 16)
        var runs = 0
        var uncovered: Set<String> = []
        for option in options {
            guard base(option.command) != nil else {
                uncovered.insert(option.command.joined(separator: " "))
                continue
            }
            var values = Self.hostileValues
            values.shuffle(using: &rng)
            for value in values.prefix(4) {
                var arguments = base(option.command)!
                // The option replaces a base value of the same name, so that it is the one read.
                if let i = arguments.firstIndex(of: "--" + option.name) { arguments.removeSubrange(i...(i + 1)) }
                arguments += ["--\(option.name)=\(value)"]
                if option.command == ["report"] && option.name != "sweep" { arguments += ["--sweep", "1"] }
                let result = try runChild(vqtraceExecutable(), arguments, in: dir.path, mergingStandardError: true, timeout: 60)
                runs += 1
                #expect(!result.signalled, "vqtrace \(arguments.joined(separator: " ")) died of signal \(result.status)\(result.timedOut ? " (timed out)" : ""): \(result.text.prefix(600))")
                #expect([0, 1, 2].contains(result.status) || result.signalled, "vqtrace \(arguments.joined(separator: " ")) exited \(result.status): \(result.text.prefix(300))")
                #expect(!result.text.contains("Fatal error"), "vqtrace \(arguments.joined(separator: " ")): \(result.text.prefix(600))")
            }
        }
        #expect(uncovered.isEmpty, "subcommands with numeric options and no base invocation: \(uncovered.sorted())")
        #expect(runs >= 160)
    }
}
