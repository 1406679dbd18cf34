// libFuzzer harness for the import parsers. The first byte picks the format; the rest is the text.
//   Every input: each line through the format's parser in memory; every event it yields must be
//   a request a trace can hold (a known device, a sector-aligned non-empty range, a FLUSH without
//   one, a completion not before its submission), and completion pairing must hand back exactly
//   the submissions it was given.
//   When the first byte's top bit is set: the whole importer on a file (skipping bad lines), and
//   the trace it writes must read back with the count it reported.
// A crash, an ASan report or a failed check is a finding; a LineProblem or ImportError is fine.
#if canImport(Glibc)
import Glibc
#endif

let importFuzzInput = "/dev/shm/vqtrace-fuzz-import-\(getpid()).txt"
let importFuzzOutput = "/dev/shm/vqtrace-fuzz-import-\(getpid()).vqt"

func importCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fputs("Fuzz harness check failed: \(message())\n", stderr)
        abort()
    }
}

func fuzzLines(_ format: ImportFormat, _ text: UnsafeRawBufferPointer) {
    format.withParser(timeUnitNs: nil) { prototype in
        var parser = prototype
        let devices = DeviceTable()
        var events: [ImportedEvent] = []
        var pairing = CompletionPairing(maxOpen: 16, staleNs: 1_000_000)
        var submitted = 0
        var lineNumber = 0
        var start = 0
        while start <= text.count {
            var end = start
            while end < text.count && text[end] != 0x0A { end += 1 }
            lineNumber += 1
            events.removeAll(keepingCapacity: true)
            do throws(LineProblem) {
                try parser.parse(UnsafeRawBufferPointer(rebasing: text[start..<end]), lineNumber: lineNumber, devices: devices, into: &events)
            } catch {
                importCheck(events.isEmpty, "a bad line yielded events")
            }
            for e in events {
                importCheck(e.device >= 0 && e.device < devices.count, "device \(e.device) of \(devices.count)")
                if e.type == .flush {
                    importCheck(e.length == 0 && e.sector == 0, "a FLUSH with a range")
                } else {
                    importCheck(e.type.addressesSectors, "type \(e.type)")
                    importCheck(e.length > 0 && e.length % 512 == 0, "length \(e.length)")
                    importCheck(e.sector <= UInt64.max / 512 - UInt64(e.length / 512), "sector \(e.sector) overflows")
                }
                if let c = e.completionNs { importCheck(c >= e.timeNs, "completion before submission") }
                if e.kind == .submit {
                    pairing.submit(e)
                    submitted += 1
                } else {
                    pairing.complete(e)
                }
                while pairing.popReady(finishing: false) != nil { submitted -= 1 }
            }
            start = end + 1
        }
        while pairing.popReady(finishing: true) != nil { submitted -= 1 }
        importCheck(submitted == 0 && pairing.pendingCount == 0, "pairing lost or invented \(submitted) submissions")
    }
}

func fuzzWholeImport(_ format: ImportFormat, _ text: UnsafeRawBufferPointer) {
    let fd = open(importFuzzInput, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return }
    _ = write(fd, text.baseAddress, text.count)
    close(fd)
    defer {
        unlink(importFuzzInput)
        unlink(importFuzzOutput)
    }
    var importer = TraceImporter(format: format)
    importer.skipBadLines = true
    guard let result = try? importer.run(paths: [importFuzzInput], out: importFuzzOutput) else { return }
    do {
        let reader = try TraceReader(path: importFuzzOutput)
        var cursor = reader.cursor()
        var count: UInt64 = 0
        while try cursor.next() != nil { count += 1 }
        importCheck(count == result.totals.records, "trace holds \(count) records, import said \(result.totals.records)")
    } catch {
        importCheck(false, "the imported trace does not read back: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImportParsers(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let selector = input.byte()
    let format = ImportFormat.allCases[Int(selector & 0x7F) % ImportFormat.allCases.count]
    let text = input.rest
    fuzzLines(format, text)
    if selector & 0x80 != 0 { fuzzWholeImport(format, text) }
    return 0
}
