import ArgumentParser

/// Sizes the way fio and QEMU write them: 512, 4k, 64K, 1m, 10G (powers of 1024). A size that
/// does not fit in 64 bits is refused, not wrapped.
struct ByteSize: ExpressibleByArgument, CustomStringConvertible {
    let bytes: UInt64
    init(bytes: UInt64) { self.bytes = bytes }
    init?(argument: String) {
        let text = argument.lowercased().replacingOccurrences(of: "ib", with: "").replacingOccurrences(of: "b", with: "")
        let units: [Character: UInt64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40]
        if let last = text.last, let unit = units[last], let value = UInt64(text.dropLast()) {
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            if overflow { return nil }
            bytes = product
        } else if let value = UInt64(text) {
            bytes = value
        } else {
            return nil
        }
    }

    /// The largest unit that divides the size: 100g, 4k, 1536 (so that --help's defaults read
    /// as a person would type them).
    var description: String {
        for (suffix, shift) in [("t", 40), ("g", 30), ("m", 20), ("k", 10)] as [(String, UInt64)]
        where bytes > 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(suffix)"
        }
        return "\(bytes)"
    }

    /// Checks a size option: at least `atLeast` bytes and, unless `multipleOf` is 1, a multiple of it.
    func check(_ option: String, atLeast: UInt64 = 1, multipleOf: UInt64 = 1, atMost: UInt64 = 1 << 60) throws {
        guard bytes >= atLeast, bytes <= atMost, bytes % multipleOf == 0 else {
            let multiple = multipleOf > 1 ? ", a multiple of \(ByteSize(bytes: multipleOf))" : ""
            throw ValidationError("\(option) must be \(ByteSize(bytes: atLeast)) to \(ByteSize(bytes: atMost))\(multiple); \(self) is not")
        }
    }

    static let help = "Sizes: 512, 4k, 64k, 1m, 10g (powers of 1024)."
}

/// Durations: 10s, 500ms, 2m, or plain seconds. Parsing takes any finite number, so that a
/// negative or zero one gets a message naming the option (`check`) rather than a generic
/// "invalid value".
struct Duration: ExpressibleByArgument, CustomStringConvertible {
    let seconds: Double
    init(seconds: Double) { self.seconds = seconds }
    init?(argument: String) {
        let text = argument.lowercased()
        let value: Double?
        if text.hasSuffix("ms") { value = Double(text.dropLast(2)).map { $0 / 1000 } }
        else if text.hasSuffix("s") { value = Double(text.dropLast()) }
        else if text.hasSuffix("m") { value = Double(text.dropLast()).map { $0 * 60 } }
        else if text.hasSuffix("h") { value = Double(text.dropLast()).map { $0 * 3600 } }
        else { value = Double(text) }
        guard let value, value.isFinite else { return nil }
        seconds = value
    }

    var description: String {
        if seconds > 0 && seconds < 1 { return "\(Self.trimmed(seconds * 1000))ms" }
        return "\(Self.trimmed(seconds))s"
    }

    private static func trimmed(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// The longest duration any option takes: 30 days (nanoseconds then fit far inside 64 bits).
    static let longest = 30.0 * 86_400

    /// Checks a duration option: positive (or, with `allowZero`, not negative) and at most 30 days.
    @discardableResult
    func check(_ option: String, allowZero: Bool = false) throws -> Duration {
        guard allowZero ? seconds >= 0 : seconds > 0 else {
            throw ValidationError("\(option) must be \(allowZero ? "zero or more" : "positive"), a length such as 10s or 500ms; \(self) is not")
        }
        guard seconds <= Self.longest else { throw ValidationError("\(option) must be at most 30 days; \(self) is not") }
        return self
    }

    /// In nanoseconds; call after `check` (which bounds it).
    var nanoseconds: UInt64 { UInt64(max(0, seconds) * 1e9) }
}
