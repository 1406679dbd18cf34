import Testing
@testable import Layout

@Suite("Layout spelling")
struct LayoutSuggestionTests {
    static func message(_ spec: String) -> String {
        do { _ = try LayoutSpec.parse(spec, numQueues: 4); return "parsed" } catch { return error.description }
    }

    @Test("a misspelled layout keyword names the nearest one")
    func suggests() {
        #expect(Self.message("singel").contains("unknown layout 'singel' (did you mean 'single'?)"))
        #expect(Self.message("pervq").contains("(did you mean 'per-vq'?)"))
        #expect(Self.message("rr2").contains("(did you mean 'rr:N', e.g. rr:2?)"))
        #expect(Self.message("quemu:x").contains("(did you mean 'qemu:…'?)"))
        #expect(!Self.message("zzzzzz").contains("did you mean"))
    }
}
