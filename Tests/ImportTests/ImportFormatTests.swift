import Foundation
import Testing
import TestSupport
@testable import Import
@testable import Trace

/// Imports one file; the records of the trace it wrote.
func importRecords(_ path: String, _ format: ImportFormat, out: String, _ configure: (inout TraceImporter) -> Void = { _ in }) throws -> (TraceImporter.Result, [TraceRecord]) {
    var importer = TraceImporter(format: format)
    configure(&importer)
    let result = try importer.run(paths: [path], out: out)
    return (result, try readAll(out))
}

/// Small files in every format, as the tools and datasets write them, and the requests they hold.
enum Samples {
    static let blkparse = """
          8,0    3        1     0.000000000   697  Q  WS 3417048 + 8 [kjournald]
          8,0    3        2     0.000003000   697  G  WS 3417048 + 8 [kjournald]
          8,0    1        1     0.000010000   700  Q   R 2048 + 16 [dd]
          8,0    1        2     0.000012000   700  Q   R 2064 + 16 [dd]
          8,0    1        3     0.000013000   700  M   R 2064 + 16 [dd]
          8,0    3        3     0.000020000   697  Q FWS 4096 + 8 [jbd2/sda1-8]
          8,16   0        1     0.000021000   701  Q   D 0 + 2048 [fstrim]
          8,0    3        4     0.000317024     0  C  WS 3417048 + 8 [0]
          8,0    1        4     0.000400000     0  C   R 2048 + 32 [0]
          8,0    3        5     0.000500000     0  C  WS 4096 + 8 [-5]
        CPU1 (8,0):
         Reads Queued:           2,       16KiB\t Writes Queued:           0,        0KiB
        Total (8,0):

        """
    static let blkparseRecords = [
        TraceRecord(device: 0, vq: 3, type: .write, sector: 3417048, length: 4096, submitNs: 0, completionNs: 317_024),
        // One completion for the two back-merged reads.
        TraceRecord(device: 0, vq: 1, type: .read, sector: 2048, length: 8192, submitNs: 10_000, completionNs: 400_000),
        TraceRecord(device: 0, vq: 1, type: .read, sector: 2064, length: 8192, submitNs: 12_000, completionNs: 400_000),
        // The preflush write: a FLUSH (its completion never traced) then the WRITE, which failed.
        TraceRecord(device: 0, vq: 3, type: .flush, sector: 0, length: 0, submitNs: 20_000),
        TraceRecord(device: 0, vq: 3, type: .write, sector: 4096, length: 4096, submitNs: 20_000, completionNs: 500_000, status: .ioError),
        TraceRecord(device: 1, vq: 0, type: .discard, sector: 0, length: 1 << 20, submitNs: 21_000),
    ]

    static let ftrace = """
        # tracer: blk
        #
        #           TASK-PID     CPU#  ||||   TIMESTAMP  FUNCTION
        #              | |         |   ||||      |         |
                      dd-3413    [001] d..2.  1238.441467:   8,0    Q   R 1024 + 8 [dd]
             Web Content-99      [000] ....   1238.441470:   8,0    Q   W 4096 + 8 [Web Content]
               kworker/0:1-12    [000] ....   1238.441480:   8,0    I   W 4096 + 8 [kworker/0:1]
                  <idle>-0       [001] d.h1.  1238.441600:   8,0    C   R 1024 + 8 [0]
                 jbd2-200        [001] ....   1238.441650:   8,0    Q  FN [jbd2]
                  <idle>-0       [000] d.h1.  1238.441700:   8,0    C   W 4096 + 8 [-5]

        """
    static let ftraceRecords = [
        TraceRecord(device: 0, vq: 1, type: .read, sector: 1024, length: 4096, submitNs: 0, completionNs: 133_000),
        TraceRecord(device: 0, vq: 0, type: .write, sector: 4096, length: 4096, submitNs: 3000, completionNs: 233_000, status: .ioError),
        TraceRecord(device: 0, vq: 1, type: .flush, sector: 0, length: 0, submitNs: 183_000),
    ]

    static let msr = """
        128166372003061629,hm,1,Read,383369216,32768,118578
        128166372003061700,hm,1,Write,4096,4096,50
        128166372003061800,web,0,Read,0,512,10

        """
    static let msrRecords = [
        TraceRecord(device: 0, vq: 0, type: .read, sector: 748768, length: 32768, submitNs: 0, completionNs: 11_857_800),
        TraceRecord(device: 0, vq: 0, type: .write, sector: 8, length: 4096, submitNs: 7100, completionNs: 12_100),
        TraceRecord(device: 1, vq: 0, type: .read, sector: 0, length: 512, submitNs: 17_100, completionNs: 18_100),
    ]

    static let alibaba = "419,W,8628224,4096,1577808000000015\n419,R,0,8192,1577808000000020\n7,R,4096,4096,1577808000000020\n"
    static let alibabaRecords = [
        TraceRecord(device: 0, vq: 0, type: .write, sector: 16852, length: 4096, submitNs: 0),
        TraceRecord(device: 0, vq: 0, type: .read, sector: 0, length: 8192, submitNs: 5000),
        TraceRecord(device: 1, vq: 0, type: .read, sector: 8, length: 4096, submitNs: 5000),
    ]

    static let tencent = "Timestamp,Offset,Size,IOType,VolumeID\n1538323200,12845056,8,1,1283\n1538323200,0,16,0,1283\n1538323201,8,8,0,99\n"
    static let tencentRecords = [
        TraceRecord(device: 0, vq: 0, type: .write, sector: 12_845_056, length: 4096, submitNs: 0),
        TraceRecord(device: 0, vq: 0, type: .read, sector: 0, length: 8192, submitNs: 0),
        TraceRecord(device: 1, vq: 0, type: .read, sector: 8, length: 4096, submitNs: 1_000_000_000),
    ]

    static let disksim = "0.000 0 2048 16 1\n1.5 0 4096 8 0\n2.25 1 0 8 3\n"
    static let disksimRecords = [
        TraceRecord(device: 0, vq: 0, type: .read, sector: 2048, length: 8192, submitNs: 0),
        TraceRecord(device: 0, vq: 0, type: .write, sector: 4096, length: 4096, submitNs: 1_500_000),
        TraceRecord(device: 1, vq: 0, type: .read, sector: 0, length: 4096, submitNs: 2_250_000),
    ]

    static let all: [(ImportFormat, String, [TraceRecord])] = [
        (.blkparse, blkparse, blkparseRecords), (.ftraceBlk, ftrace, ftraceRecords), (.msr, msr, msrRecords),
        (.alibaba, alibaba, alibabaRecords), (.tencent, tencent, tencentRecords), (.disksim, disksim, disksimRecords),
    ]
}

@Suite("trace formats: blkparse, ftrace blk, MSR, Alibaba, Tencent, DiskSim")
struct ImportFormatTests {
    @Test("each format's sample imports to exactly its requests", arguments: Samples.all.map { $0.0 })
    func golden(format: ImportFormat) throws {
        let (_, sample, expected) = Samples.all.first { $0.0 == format }!
        let dir = ScratchDirectory()
        let (result, records) = try importRecords(dir.write("in.txt", sample), format, out: dir.file("out.vqt"))
        #expect(records == expected)
        #expect(result.totals.records == UInt64(expected.count))
        let metadata = try TraceReader(path: dir.file("out.vqt")).metadata
        #expect(metadata.source.name == format.rawValue && metadata.source.parameters["file"] == dir.file("in.txt"))
        #expect(metadata.devices.map(\.name) == Array(["vda", "vdb"].prefix(result.deviceKeys.count)))
    }

    @Test("blkparse and ftrace: device keys, vqs per CPU, ignored events and pairing counts")
    func blockTraceDetails() throws {
        let dir = ScratchDirectory()
        let (result, _) = try importRecords(dir.write("b.txt", Samples.blkparse), .blkparse, out: dir.file("b.vqt"))
        #expect(result.deviceKeys == ["8,0", "8,16"])
        #expect(result.queues == 4 && result.vqMap == .cpu)  // CPUs 0…3 seen
        #expect(result.ignoredEvents == 2)  // G and M
        #expect(result.pairedCompletions == 4 && result.unmatchedCompletions == 0)
        let metadata = try TraceReader(path: dir.file("b.vqt")).metadata
        #expect(metadata.source.parameters["device.vdb"] == "8,16")
        // --vq-map pid and an explicit queue count.
        let (_, byPID) = try importRecords(dir.file("b.txt"), .blkparse, out: dir.file("p.vqt")) { $0.vqMap = .pid; $0.queues = 2 }
        #expect(byPID.map(\.vq) == [697 % 2, 700 % 2, 700 % 2, 697 % 2, 697 % 2, 701 % 2].map(UInt16.init))
    }

    @Test("the format is detected from the first lines", arguments: Samples.all.map { $0.0 } + [.fioIolog])
    func detection(format: ImportFormat) throws {
        let dir = ScratchDirectory()
        let sample = format == .fioIolog ? "fio version 3 iolog\n0 /dev/x add\n1 /dev/x read 0 4096\n" : Samples.all.first { $0.0 == format }!.1
        #expect(try ImportFormat.detect(path: dir.write("s", sample)).format == format)
    }

    @Test("garbage and unknown text are refused by detection, with the formats listed")
    func detectionRefuses() throws {
        let dir = ScratchDirectory()
        let e = #expect(throws: ImportError.self) { try ImportFormat.detect(path: dir.write("g", "hello world\nthis is not a trace\n")) }
        #expect(e?.description.contains("match no format") == true && e?.description.contains("blkparse") == true)
        #expect(throws: ImportError.self) { try ImportFormat.detect(path: dir.write("e", "")) }
    }

    @Test("garbage gives line 1, a truncated last line gives its own line number, each in words", arguments: Samples.all.map { $0.0 })
    func errors(format: ImportFormat) throws {
        let (_, sample, _) = Samples.all.first { $0.0 == format }!
        let dir = ScratchDirectory()
        // The first request line, cut in the middle of its fields.
        let lines = sample.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.firstIndex { !$0.hasPrefix("#") && !$0.hasPrefix("Timestamp") && !$0.isEmpty }!
        let cut = lines[requestLine].firstRange(of: format == .ftraceBlk ? ": " : (format == .disksim ? " 2048" : (format == .blkparse ? " 3417048" : ",")))!.lowerBound
        var truncated = Array(lines[0..<requestLine])
        truncated.append(String(lines[requestLine][..<cut]))
        let path = dir.write("t", truncated.joined(separator: "\n"))
        let e = #expect(throws: ImportError.self) { try TraceImporter(format: format).run(paths: [path], out: dir.file("t.vqt")) }
        #expect(e?.description.hasPrefix("\(path):\(requestLine + 1): ") == true, "\(e?.description ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: dir.file("t.vqt")) && !FileManager.default.fileExists(atPath: dir.file("t.vqt.partial")))

        let garbage = dir.write("g", "\u{1}\u{2} garbage, of, no, kind, at all\n")
        let g = #expect(throws: ImportError.self) { try TraceImporter(format: format).run(paths: [garbage], out: dir.file("g.vqt")) }
        #expect(g?.description.hasPrefix("\(garbage):1: ") == true, "\(g?.description ?? "no error")")
    }

    @Test("each problem has its own words: sizes, time order, fields")
    func problemWords() throws {
        let dir = ScratchDirectory()
        let cases: [(ImportFormat, String, String)] = [
            (.alibaba, "1,R,100,4096,10\n", "multiples of 512"),
            (.alibaba, "1,R,0,4096,10\n1,R,0,4096,5\n", "before the previous request"),
            (.alibaba, "1,X,0,4096,10\n", "opcode \"X\" is not R or W"),
            (.msr, "1,h,0,Read,0,4096\n", "expected 7 comma-separated fields"),
            (.tencent, "1,0,0,0,1\n", "size is 0 sectors"),
            (.tencent, "1,0,8,2,1\n", "IOType \"2\""),
            (.disksim, "1.0 0 0 8 x\n", "FLAGS \"x\""),
            (.blkparse, "  8,0 1 1 0.1 5 Q R 8 + 8 [a]\n  8,0 1 2 0.2 5 C R 8 + 8\n", "completion without its [error]"),
            (.blkparse, "  8,0 1 1 0.1 5 Q Z 8 + 8 [a]\n", "no operation"),
            (.ftraceBlk, "  a-1 [000] .... 1.0: 8,0 Q R 8 + 8 [a]\nCPU:0 [LOST 12 EVENTS]\n", "lost events"),
        ]
        for (format, text, words) in cases {
            let path = dir.write("p", text)
            let e = #expect(throws: ImportError.self) { try TraceImporter(format: format).run(paths: [path], out: dir.file("p.vqt")) }
            #expect(e?.description.contains(words) == true, "\(format): \(e?.description ?? "no error")")
        }
    }

    @Test("--skip-bad-lines counts what it skips and keeps the rest; a failed import keeps an existing trace")
    func skipAndKeep() throws {
        let dir = ScratchDirectory()
        let path = dir.write("a.csv", "1,R,0,4096,10\nnonsense\n1,W,100,4096,20\n1,R,4096,4096,30\n1,R,0,4096,25\n")
        var lenient = TraceImporter(format: .alibaba)
        lenient.skipBadLines = true
        let result = try lenient.run(paths: [path], out: dir.file("a.vqt"))
        #expect(result.skippedLines == 3 && result.totals.records == 2 && result.lines == 5)
        // A request past a given capacity is a bad line too.
        var small = TraceImporter(format: .alibaba)
        small.skipBadLines = true
        small.capacityBytes = 4096  // the read at 4096 runs past it
        let capped = try small.run(paths: [path], out: dir.file("c.vqt"))
        #expect(capped.skippedLines == 4 && capped.totals.records == 1)
        // Found in the second pass, after pairing: the error still names its line.
        var strict = TraceImporter(format: .alibaba)
        strict.capacityBytes = 4096
        let past = dir.write("p.csv", "1,R,0,4096,10\n1,R,4096,4096,30\n")
        let e = #expect(throws: ImportError.self) { try strict.run(paths: [past], out: dir.file("p.vqt")) }
        #expect(e?.description.hasPrefix("\(past):2: ") == true && e?.description.contains("runs past the capacity") == true, "\(e?.description ?? "")")
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.file("a.vqt")))
        #expect(throws: ImportError.self) { try TraceImporter(format: .alibaba).run(paths: [path], out: dir.file("a.vqt")) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("a.vqt"))) == before)
    }

    @Test("--time-unit changes the dialect's unit, and is refused where the unit is fixed")
    func timeUnits() throws {
        let dir = ScratchDirectory()
        let path = dir.write("d.txt", "100 0 0 8 1\n250 0 8 8 1\n")
        let (_, us) = try importRecords(path, .disksim, out: dir.file("us.vqt")) { $0.timeUnitNs = 1000 }
        #expect(us.map(\.submitNs) == [0, 150_000])
        let (_, ms) = try importRecords(path, .disksim, out: dir.file("ms.vqt"))
        #expect(ms.map(\.submitNs) == [0, 150_000_000])
        let e = #expect(throws: ImportError.self) { try importRecords(dir.write("b", Samples.blkparse), .blkparse, out: dir.file("b.vqt")) { $0.timeUnitNs = 1000 } }
        #expect(e?.description.contains("fixed unit") == true)
        let m = #expect(throws: ImportError.self) { try importRecords(path, .disksim, out: dir.file("c.vqt")) { $0.vqMap = .cpu } }
        #expect(m?.description.contains("CPU and process fields") == true)
    }

    @Test("several files are merged by time onto shared devices")
    func merge() throws {
        let dir = ScratchDirectory()
        let a = dir.write("a.csv", "1,R,0,4096,10\n1,R,4096,4096,30\n2,W,0,4096,50\n")
        let b = dir.write("b.csv", "2,W,8192,4096,20\n1,R,8192,4096,30\n")
        var importer = TraceImporter(format: .alibaba)
        importer.queues = 2
        let result = try importer.run(paths: [a, b], out: dir.file("m.vqt"))
        #expect(result.deviceKeys == ["1", "2"] && result.lines == 5)
        let records = try readAll(dir.file("m.vqt"))
        #expect(records.map(\.submitNs) == [0, 10_000, 20_000, 20_000, 40_000])
        #expect(records.map(\.sector) == [0, 16, 8, 16, 0])
        #expect(records.map(\.device) == [0, 1, 0, 0, 1])
        #expect(records.map(\.vq) == [0, 0, 1, 0, 1])  // round-robin within each device
    }

    @Test("random requests written in each format import back to the same requests", arguments: Samples.all.map { $0.0 } + [.fioIolog])
    func property(format: ImportFormat) throws {
        let dir = ScratchDirectory()
        for seed in UInt64(1)...6 {
            var rng = SplitMix64(state: seed &* 7919 &+ UInt64(format.rawValue.count))
            let count = Int(rng.next() % 300) + 1
            var time: UInt64 = 1_000_000 + rng.next() % 1_000_000  // in the format's time unit
            var text = format == .fioIolog ? "fio version 3 iolog\n" : ""
            var expected: [(device: Int, type: TraceRequestType, sector: UInt64, length: UInt32, time: UInt64)] = []
            let unitNs: UInt64 = [.fioIolog: 1000, .blkparse: 1, .ftraceBlk: 1000, .msr: 100, .alibaba: 1000, .tencent: 1_000_000_000, .disksim: 1000][format]!
            for i in 0..<count {
                time += rng.next() % 3 == 0 ? 0 : rng.next() % 5000
                let device = Int(rng.next() % 3)
                let isRead = rng.next() & 1 == 0
                let sector = rng.next() % (1 << 30)
                let sectors = rng.next() % 256 + 1
                expected.append((device, isRead ? .read : .write, sector, UInt32(sectors * 512), time))
                let t = time
                switch format {
                case .fioIolog: text += "\(t) dev\(device) \(isRead ? "read" : "write") \(sector * 512) \(sectors * 512)\n"
                case .blkparse: text += "  8,\(device * 16) \(i % 4) \(i + 1) \(t / 1_000_000_000).\(String(format: "%09llu", t % 1_000_000_000)) 42  Q \(isRead ? "RS" : "WS") \(sector) + \(sectors) [x]\n"
                case .ftraceBlk: text += "  task name-42 [00\(i % 4)] ....  \(t / 1_000_000).\(String(format: "%06llu", t % 1_000_000)): 8,\(device * 16) Q \(isRead ? "R" : "W") \(sector) + \(sectors) [task name]\n"
                case .msr: text += "\(t),host,\(device),\(isRead ? "Read" : "Write"),\(sector * 512),\(sectors * 512),\(rng.next() % 1000)\n"
                case .alibaba: text += "\(device),\(isRead ? "R" : "W"),\(sector * 512),\(sectors * 512),\(t)\n"
                case .tencent: text += "\(t),\(sector),\(sectors),\(isRead ? 0 : 1),\(device)\n"
                case .disksim: text += "\(t / 1000).\(String(format: "%03llu", t % 1000)) \(device) \(sector) \(sectors) \(isRead ? 1 : 0)\n"
                }
            }
            let path = dir.write("p\(seed)", text)
            let (result, records) = try importRecords(path, format, out: dir.file("p\(seed).vqt"))
            // Device indices follow first appearance.
            var order: [Int] = []
            for e in expected where !order.contains(e.device) { order.append(e.device) }
            #expect(result.deviceKeys.count == order.count)
            #expect(records.count == count)
            let origin = expected[0].time
            for (r, e) in zip(records, expected) {
                #expect(r.type == e.type && r.sector == e.sector && r.length == e.length && Int(r.device) == order.firstIndex(of: e.device)!)
                #expect(r.submitNs == (e.time - origin) * unitNs, "seed \(seed)")
            }
        }
    }
}

@Suite("completion pairing")
struct CompletionPairingTests {
    func event(_ kind: ImportedEvent.Kind, _ sector: UInt64, _ sectors: UInt32, at t: UInt64, _ type: TraceRequestType = .read) -> ImportedEvent {
        ImportedEvent(kind: kind, device: 0, type: type, sector: sector, length: sectors * 512, timeNs: t)
    }

    @Test("completions in any order; submissions come out in their own order")
    func outOfOrder() {
        var p = CompletionPairing()
        p.submit(event(.submit, 0, 8, at: 1))
        p.submit(event(.submit, 100, 8, at: 2))
        p.submit(event(.submit, 0, 8, at: 3))  // the same sector again, still open
        #expect(p.popReady(finishing: false) == nil)
        p.complete(event(.complete, 100, 8, at: 4))
        #expect(p.popReady(finishing: false) == nil)  // the oldest is still open
        p.complete(event(.complete, 0, 8, at: 5))  // the oldest at sector 0
        p.complete(event(.complete, 0, 8, at: 6))
        #expect(p.popReady(finishing: false)?.completionNs == 5)
        #expect(p.popReady(finishing: false)?.completionNs == 4)
        #expect(p.popReady(finishing: false)?.completionNs == 6)
        #expect(p.popReady(finishing: true) == nil)
        p.complete(event(.complete, 7, 1, at: 7))
        #expect(p.unmatchedCompletions == 1 && p.paired == 3)
    }

    @Test("memory stays bounded: an open submission goes out without completion behind maxOpen others or when stale")
    func bounded() {
        var p = CompletionPairing(maxOpen: 4, staleNs: 1000)
        for i in 0..<5 { p.submit(event(.submit, UInt64(i) * 8, 8, at: UInt64(i))) }
        let forced = p.popReady(finishing: false)
        #expect(forced?.sector == 0 && forced?.completionNs == nil)
        #expect(p.popReady(finishing: false) == nil)
        p.submit(event(.submit, 999, 8, at: 2000))  // makes the rest stale
        #expect(p.popReady(finishing: false)?.sector == 8)
        // A completion for one already gone out does not match a newer submission elsewhere.
        p.complete(event(.complete, 0, 8, at: 2001))
        #expect(p.unmatchedCompletions == 1)
        var drained = 0
        while p.popReady(finishing: true) != nil { drained += 1 }
        #expect(drained == 4 && p.pendingCount == 0)
    }

    @Test("a FLUSH completes a FLUSH, not a request at sector 0; a front merge completes both")
    func flushAndMerges() {
        var p = CompletionPairing()
        p.submit(event(.submit, 0, 8, at: 1))
        p.submit(event(.submit, 0, 0, at: 2, .flush))
        p.complete(event(.complete, 0, 0, at: 3, .flush))
        p.submit(event(.submit, 64, 8, at: 4))
        p.submit(event(.submit, 56, 8, at: 5))  // front-merged into the one at 64
        p.complete(event(.complete, 56, 16, at: 6))
        p.complete(event(.complete, 0, 8, at: 7))
        let out = (0..<4).compactMap { _ in p.popReady(finishing: false) }
        #expect(out.map(\.type) == [.read, .flush, .read, .read])
        #expect(out.map(\.completionNs) == [7, 3, 6, 6])
    }
}
