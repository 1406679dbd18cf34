import Testing
import Units
@testable import Engine

@Suite("Option errors")
struct OptionErrorTests {
    enum Wrapper: Error { case wrapped(any Error) }
    struct Outer: Error { var inner: Wrapper }

    @Test("misspellings of enumerated values get the nearest name; unrelated words get none")
    func suggestions() {
        #expect(OptionError.nearest("io-uring", in: BackendKind.allCases.map(\.rawValue)) == "io_uring")
        #expect(OptionError.nearest("thread", in: BackendKind.allCases.map(\.rawValue)) == "threads")
        #expect(OptionError.nearest("opne", in: ["open", "closed", "think", "afap"]) == "open")
        #expect(OptionError.nearest("clsoed", in: ["open", "closed", "think", "afap"]) == "closed")
        #expect(OptionError.nearest("zebra", in: ["open", "closed", "think", "afap"]) == nil)
        let error = OptionError.notAChoice(option: "--timing", value: "opne", choices: ["open", "closed"])
        #expect(error.description == "--timing 'opne': must be one of open, closed (did you mean 'open'?)")
    }

    @Test("a usage mistake wrapped inside another error (as an argument parser wraps validation's) is found")
    func findsWrapped() {
        let inner = OptionError(option: "--pin", value: "99", problem: "no")
        let found = usageMistake(in: Outer(inner: .wrapped(inner)))
        #expect((found as? OptionError) == inner)
        #expect(usageMistake(in: Outer(inner: .wrapped(CancellationError()))) == nil)
    }
}
