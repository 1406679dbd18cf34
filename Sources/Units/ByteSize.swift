import Foundation

/// A size the way fio and QEMU write them: 512, 4k, 64K, 1m, 10G, 1t (powers of 1024). A size
/// that does not fit in 64 bits is refused, not wrapped.
public struct ByteSize: Sendable, Equatable, CustomStringConvertible {
    public let bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    /// Parses `4k`, `1GiB`, `512`; nil for anything else or a size past 64 bits.
    public init?(parsing text: String) {
        let lowered = text.lowercased().replacingOccurrences(of: "ib", with: "").replacingOccurrences(of: "b", with: "")
        let units: [Character: UInt64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40]
        if let last = lowered.last, let unit = units[last], let value = UInt64(lowered.dropLast()) {
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            if overflow { return nil }
            bytes = product
        } else if let value = UInt64(lowered) {
            bytes = value
        } else {
            return nil
        }
    }

    /// The largest unit that divides the size: 100g, 4k, 1536 (as a person would type it).
    public var description: String {
        for (suffix, shift) in [("t", 40), ("g", 30), ("m", 20), ("k", 10)] as [(String, UInt64)]
        where bytes > 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(suffix)"
        }
        return "\(bytes)"
    }

    /// Why a size does not fit an option's range, naming the option; nil when it does.
    public func problem(_ option: String, atLeast: UInt64 = 1, multipleOf: UInt64 = 1, atMost: UInt64 = 1 << 60) -> String? {
        guard bytes < atLeast || bytes > atMost || bytes % multipleOf != 0 else { return nil }
        let multiple = multipleOf > 1 ? ", a multiple of \(ByteSize(bytes: multipleOf))" : ""
        return "\(option) must be \(ByteSize(bytes: atLeast)) to \(ByteSize(bytes: atMost))\(multiple); \(self) is not"
    }
}
