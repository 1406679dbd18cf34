import Testing
@testable import Layout

/// QEMU's iothread-vq-mapping rules, one test each, with inputs in the shape of QEMU's
/// documentation (docs/devel/multiple-iothreads and the virtio-blk-pci property help).
@Suite("QEMU iothread-vq-mapping validation")
struct QEMUValidationTests {
    let objects = "-object iothread,id=iot0 -object iothread,id=iot1 "

    private func parse(_ text: String, numQueues: Int? = 4) throws(LayoutError) -> IOThreadLayout {
        try QEMULayoutFormat.parse(text, numQueues: numQueues)
    }

    @Test("QEMU's documented example: explicit vqs")
    func documentedExplicit() throws {
        let layout = try parse(objects + #"-device '{"driver":"virtio-blk-pci","drive":"drive0","iothread-vq-mapping":[{"iothread":"iot0","vqs":[0,1]},{"iothread":"iot1","vqs":[2,3]}],"num-queues":4}'"#)
        #expect(layout.devices[0].assignment == ["iot0", "iot0", "iot1", "iot1"])
        #expect(layout.iothreads.map(\.id) == ["iot0", "iot1"])
    }

    @Test("QEMU's documented example: round-robin when no entry lists vqs")
    func documentedRoundRobin() throws {
        let layout = try parse(objects + #"-device '{"driver":"virtio-blk-pci","iothread-vq-mapping":[{"iothread":"iot0"},{"iothread":"iot1"}],"num-queues":5}'"#, numQueues: nil)
        #expect(layout.devices[0].assignment == ["iot0", "iot1", "iot0", "iot1", "iot0"])
    }

    @Test("unknown IOThread: IOThread \"x\" object does not exist")
    func unknownIOThread() {
        #expect(throws: LayoutError.unknownIOThread("iot9")) {
            try parse(objects + #"-device '{"iothread-vq-mapping":[{"iothread":"iot9"}]}'"#)
        }
        #expect(LayoutError.unknownIOThread("iot9").description == #"IOThread "iot9" object does not exist"#)
    }

    @Test("IOThread listed twice")
    func duplicateIOThread() {
        #expect(throws: LayoutError.duplicateIOThread("iot0")) {
            try parse(#"[{"iothread":"iot0","vqs":[0]},{"iothread":"iot0","vqs":[1]}]"#)
        }
    }

    @Test("vqs in some entries but not all")
    func vqsInSomeEntries() {
        #expect(throws: LayoutError.vqsInSomeEntries) {
            try parse(#"[{"iothread":"iot0","vqs":[0,1,2,3]},{"iothread":"iot1"}]"#)
        }
        #expect(throws: LayoutError.vqsInSomeEntries) {
            try parse(#"[{"iothread":"iot0"},{"iothread":"iot1","vqs":[0]}]"#)
        }
    }

    @Test("vq ≥ num-queues")
    func vqOutOfRange() {
        #expect(throws: LayoutError.vqOutOfRange(vq: 4, iothread: "iot1", numQueues: 4)) {
            try parse(#"[{"iothread":"iot0","vqs":[0,1]},{"iothread":"iot1","vqs":[2,4]}]"#)
        }
    }

    @Test("vq assigned twice")
    func vqAssignedTwice() {
        #expect(throws: LayoutError.vqAssignedTwice(vq: 1, iothread: "iot1")) {
            try parse(#"[{"iothread":"iot0","vqs":[0,1]},{"iothread":"iot1","vqs":[1,2,3]}]"#)
        }
    }

    @Test("missing vq N")
    func missingVQ() {
        #expect(throws: LayoutError.missingVQ(2)) {
            try parse(#"[{"iothread":"iot0","vqs":[0,1]},{"iothread":"iot1","vqs":[3]}]"#)
        }
    }

    @Test("iothread together with iothread-vq-mapping")
    func iothreadWithMapping() {
        #expect(throws: LayoutError.iothreadWithMapping) {
            try parse(#"{"iothread":"iot0","iothread-vq-mapping":[{"iothread":"iot0"}]}"#)
        }
    }

    @Test("rules apply in QEMU's order: existence before duplicates before vq checks")
    func order() {
        // QEMU checks entry by entry: existence, duplicate, then that entry's vqs.
        #expect(throws: LayoutError.unknownIOThread("iot9")) {
            try parse(objects + #"-device '{"iothread-vq-mapping":[{"iothread":"iot9","vqs":[7]},{"iothread":"iot0","vqs":[1]},{"iothread":"iot0","vqs":[1]}]}'"#)
        }
        #expect(throws: LayoutError.duplicateIOThread("iot0")) {
            try parse(objects + #"-device '{"iothread-vq-mapping":[{"iothread":"iot0","vqs":[1]},{"iothread":"iot0","vqs":[9]}]}'"#)
        }
        // The first entry's vq is already out of range before the duplicate is seen.
        #expect(throws: LayoutError.vqOutOfRange(vq: 7, iothread: "iot0", numQueues: 4)) {
            try parse(objects + #"-device '{"iothread-vq-mapping":[{"iothread":"iot0","vqs":[7]},{"iothread":"iot0","vqs":[1]}]}'"#)
        }
    }

    @Test("an empty vqs list counts as no vqs, as in QEMU")
    func emptyVQs() throws {
        let layout = try parse(#"[{"iothread":"a","vqs":[]},{"iothread":"b"}]"#, numQueues: 2)
        #expect(layout.devices[0].assignment == ["a", "b"])
    }

    @Test("the legacy iothread property puts every vq on one IOThread")
    func legacyIOThread() throws {
        let layout = try parse("-object iothread,id=io0,poll-max-ns=16384 -device virtio-blk-pci,drive=d0,iothread=io0,num-queues=2", numQueues: nil)
        #expect(layout.devices[0].assignment == ["io0", "io0"])
        #expect(layout.iothreads == [IOThreadSpec(id: "io0", pollMaxNs: 16384)])
    }

    @Test("num-queues in the layout must agree with --num-queues")
    func numQueuesMismatch() {
        #expect(throws: LayoutError.numQueuesMismatch(given: 8, layout: 4)) {
            try parse(#"{"num-queues":4,"iothread":"x"}"#, numQueues: 8)
        }
    }

    @Test("malformed JSON gives line and column, never a crash",
          arguments: [(#"[{"iothread":"a",}]"#, 1, 18), ("[\n  {\"iothread\": \"a\"\n  ", 3, 3), (#"{"iothread":"a\x"}"#, 1, 16),
                      ("[1, 2", 1, 6), ("{\"a\" 1}", 1, 6), ("", 1, 1), ("[tru]", 1, 2)])
    func malformedJSON(text: String, line: Int, column: Int) {
        do {
            _ = try JSONValue.parse(text)
            Issue.record("accepted malformed JSON \(text)")
        } catch {
            guard case let .malformedJSON(gotLine, gotColumn, _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(gotLine == line)
            #expect(gotColumn == column)
        }
    }

    @Test("random byte strings never crash the JSON or QEMU parsers")
    func garbage() {
        var state: UInt64 = 12345
        let alphabet = Array(#"{}[]":,0123456789-.eE tnrufals\"#.utf8) + [0x0A, 0xC3, 0xA9]
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            let length = Int(state % 40)
            for _ in 0..<length {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? JSONValue.parse(text)
            _ = try? QEMULayoutFormat.parse(text, numQueues: 4)
        }
    }
}
