import Foundation

/// A value bound into, or read out of, a catalog statement, the same on SQLite and PostgreSQL.
/// The catalog's SQL is written once; each store turns these into its driver's own values.
public enum CatalogValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
    case boolean(Bool)

    /// As `rows()` shows it: NULL, the number, the text, or "<N bytes>".
    public var display: String {
        switch self {
        case .null: return "NULL"
        case .integer(let i): return "\(i)"
        case .real(let d): return "\(d)"
        case .text(let s): return s
        case .blob(let data): return "<\(data.count) bytes>"
        case .boolean(let b): return b ? "1" : "0"
        }
    }
}

/// A Swift value that binds as a `CatalogValue` (so that `rows(sql, [trace.id])` reads naturally).
public protocol CatalogBindable: Sendable {
    var catalogValue: CatalogValue { get }
}

extension CatalogValue: CatalogBindable { public var catalogValue: CatalogValue { self } }
extension Int64: CatalogBindable { public var catalogValue: CatalogValue { .integer(self) } }
extension Int: CatalogBindable { public var catalogValue: CatalogValue { .integer(Int64(self)) } }
extension Double: CatalogBindable { public var catalogValue: CatalogValue { .real(self) } }
extension String: CatalogBindable { public var catalogValue: CatalogValue { .text(self) } }
extension Bool: CatalogBindable { public var catalogValue: CatalogValue { .boolean(self) } }
extension Data: CatalogBindable { public var catalogValue: CatalogValue { .blob(self) } }
extension Optional: CatalogBindable where Wrapped: CatalogBindable {
    public var catalogValue: CatalogValue { self?.catalogValue ?? .null }
}

/// One result row. Columns are found by name without regard to case: PostgreSQL folds unquoted
/// names to lower case (`traceId` comes back as `traceid`), SQLite keeps them as written, and the
/// catalog's SQL is the same text on both.
public struct CatalogRow: Sendable {
    /// Column names as the database returned them, in order, with their values.
    public let columns: [(name: String, value: CatalogValue)]
    private let byName: [String: Int]

    public init(columns: [(name: String, value: CatalogValue)]) {
        self.columns = columns
        var index: [String: Int] = [:]
        for (i, column) in columns.enumerated() where index[column.name.lowercased()] == nil { index[column.name.lowercased()] = i }
        byName = index
    }

    /// The value of `column`, `.null` when the row has no such column.
    public subscript(_ column: String) -> CatalogValue {
        byName[column.lowercased()].map { columns[$0].value } ?? .null
    }

    public func int64(_ column: String) -> Int64 { optionalInt64(column) ?? 0 }
    public func optionalInt64(_ column: String) -> Int64? {
        switch self[column] {
        case .integer(let i): return i
        case .real(let d): return Int64(d)
        case .boolean(let b): return b ? 1 : 0
        case .text(let s): return Int64(s)
        default: return nil
        }
    }
    public func int(_ column: String) -> Int { Int(int64(column)) }
    public func double(_ column: String) -> Double { optionalDouble(column) ?? 0 }
    public func optionalDouble(_ column: String) -> Double? {
        switch self[column] {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        default: return nil
        }
    }
    public func string(_ column: String) -> String { optionalString(column) ?? "" }
    public func optionalString(_ column: String) -> String? {
        if case .text(let s) = self[column] { return s }
        return nil
    }
    public func bool(_ column: String) -> Bool { optionalInt64(column).map { $0 != 0 } ?? false }
    public func data(_ column: String) -> Data? {
        if case .blob(let d) = self[column] { return d }
        return nil
    }
}
