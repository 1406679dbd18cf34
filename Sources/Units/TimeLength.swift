/// A length of time as people type it: 10s, 500ms, 2m, 1h, or plain seconds. Parsing takes any
/// finite number, so that a negative or zero one gets a message naming its option (`problem`)
/// rather than a generic "invalid value".
public struct TimeLength: Sendable, Equatable, CustomStringConvertible {
    public let seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    public init?(parsing text: String) {
        let lowered = text.lowercased()
        let value: Double?
        if lowered.hasSuffix("ms") { value = Double(lowered.dropLast(2)).map { $0 / 1000 } }
        else if lowered.hasSuffix("s") { value = Double(lowered.dropLast()) }
        else if lowered.hasSuffix("m") { value = Double(lowered.dropLast()).map { $0 * 60 } }
        else if lowered.hasSuffix("h") { value = Double(lowered.dropLast()).map { $0 * 3600 } }
        else { value = Double(lowered) }
        guard let value, value.isFinite else { return nil }
        seconds = value
    }

    public var description: String {
        if seconds > 0 && seconds < 1 { return "\(Self.trimmed(seconds * 1000))ms" }
        return "\(Self.trimmed(seconds))s"
    }

    private static func trimmed(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// The longest any option takes: 30 days (nanoseconds then fit far inside 64 bits).
    public static let longest = 30.0 * 86_400

    /// Why a length does not fit an option (positive, or with `allowZero` not negative; at most
    /// 30 days), naming the option; nil when it does.
    public func problem(_ option: String, allowZero: Bool = false) -> String? {
        if !(allowZero ? seconds >= 0 : seconds > 0) {
            return "\(option) must be \(allowZero ? "zero or more" : "positive"), a length such as 10s or 500ms; \(self) is not"
        }
        if seconds > Self.longest { return "\(option) must be at most 30 days; \(self) is not" }
        return nil
    }

    /// In nanoseconds, clamped to 0...30 days.
    public var nanoseconds: UInt64 { UInt64(min(max(0, seconds), Self.longest) * 1e9) }
}
