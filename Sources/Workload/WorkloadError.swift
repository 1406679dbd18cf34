/// Parameters a model cannot run with, naming the parameter (by its command-line name) and
/// what it needs. Models check their parameters before they run, so that no number a user
/// gives can trap in the arithmetic of a model.
public struct WorkloadError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// Checks that `value` is a finite number in `range`.
    static func check(_ value: Double, _ name: String, in range: ClosedRange<Double>) throws(WorkloadError) {
        guard value.isFinite && range.contains(value) else {
            throw WorkloadError("\(name) must be in \(Self.text(range.lowerBound))...\(Self.text(range.upperBound)); \(Self.text(value)) is not")
        }
    }

    static func check(_ value: Int, _ name: String, in range: ClosedRange<Int>) throws(WorkloadError) {
        guard range.contains(value) else { throw WorkloadError("\(name) must be in \(range.lowerBound)...\(range.upperBound); \(value) is not") }
    }

    private static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// 30 days: the longest modelled run (nanosecond times then stay far inside 64 bits).
    static let longestSeconds = 30.0 * 86_400
}
