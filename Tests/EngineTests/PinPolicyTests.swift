import Testing
import Units
@testable import Engine

@Suite("Pin policy")
struct PinPolicyTests {
    @Test("a listed CPU outside the allowed set is refused at parse time, naming the option and the CPU")
    func refusesDisallowedCPU() {
        #expect(throws: OptionError.self) { try PinPolicy(parsing: "0,3", option: "--pin", allowedCPUs: [0, 1]) }
        do {
            _ = try PinPolicy(parsing: "0,3", option: "--pin", allowedCPUs: [0, 1])
        } catch {
            #expect(error.option == "--pin")
            #expect(error.value == "0,3")
            #expect(error.description.contains("CPU 3 is not one this process may run on"))
            #expect(error.description.contains("allowed: 0-1"))
        }
        #expect((try? PinPolicy(parsing: "1", allowedCPUs: [0, 1])) == .list([1]))
    }

    @Test("the process's own sched_getaffinity set is the default check: CPU 8191 is never allowed here")
    func usesAffinity() throws {
        let allowed = PinPolicy.allowedCPUs()
        #expect(!allowed.isEmpty)
        #expect(try PinPolicy(parsing: "\(allowed[0])") == .list([allowed[0]]))
        #expect(throws: OptionError.self) { try PinPolicy(parsing: "8191") }
    }

    @Test("a misspelled auto or none gets a suggestion")
    func suggestsKeyword() {
        do { _ = try PinPolicy(parsing: "atuo", option: "--pin") } catch {
            #expect(error.suggestion == "auto")
            #expect(error.description.contains("did you mean 'auto'?"))
        }
    }
}
