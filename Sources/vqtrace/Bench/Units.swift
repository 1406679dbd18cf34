import ArgumentParser

/// Sizes the way fio and QEMU write them: 512, 4k, 64K, 1m, 10G (powers of 1024).
struct ByteSize: ExpressibleByArgument, CustomStringConvertible {
    let bytes: UInt64
    init(bytes: UInt64) { self.bytes = bytes }
    init?(argument: String) {
        let text = argument.lowercased().replacingOccurrences(of: "ib", with: "").replacingOccurrences(of: "b", with: "")
        let units: [Character: UInt64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40]
        if let last = text.last, let unit = units[last], let value = UInt64(text.dropLast()) {
            bytes = value * unit
        } else if let value = UInt64(text) {
            bytes = value
        } else {
            return nil
        }
    }
    var description: String { "\(bytes)" }
}

/// Durations: 10s, 500ms, 2m, or plain seconds.
struct Duration: ExpressibleByArgument, CustomStringConvertible {
    let seconds: Double
    init(seconds: Double) { self.seconds = seconds }
    init?(argument: String) {
        let text = argument.lowercased()
        if text.hasSuffix("ms"), let v = Double(text.dropLast(2)) { seconds = v / 1000 }
        else if text.hasSuffix("s"), let v = Double(text.dropLast()) { seconds = v }
        else if text.hasSuffix("m"), let v = Double(text.dropLast()) { seconds = v * 60 }
        else if let v = Double(text) { seconds = v }
        else { return nil }
        if seconds <= 0 { return nil }
    }
    var description: String { "\(seconds)s" }
}
