/// Text and JSON made storable in PostgreSQL: a `text` column refuses NUL (U+0000) and `jsonb`
/// refuses the `\u0000` escape, yet JSON lets a client put one in any string. Every writer of
/// client-supplied text uses these before binding it, so one hostile value cannot make a statement
/// (and the batch it belongs to) fail.
extension String {
    /// The most characters kept of an identifier-like field from a client (request id, model name,
    /// key alias, team id...).
    public static let storableIdentifierLimit = 256

    /// This text without NUL, cut to at most `limit` Unicode scalars (PostgreSQL counts characters
    /// as code points, as its `char_length` checks do); nil keeps every character.
    public func storable(limit: Int? = nil) -> String {
        let tooLong = limit.map { utf8.count > $0 } ?? false
        // Fast path: the usual text is short and clean (a scalar takes at least one UTF-8 byte).
        guard tooLong || utf8.contains(0) else { return self }
        var scalars = String.UnicodeScalarView()
        var kept = 0
        for scalar in unicodeScalars where scalar != "\u{0}" {
            if let limit, kept == limit { break }
            scalars.append(scalar)
            kept += 1
        }
        return String(scalars)
    }

    /// `storable(limit: String.storableIdentifierLimit)`: for identifier-like fields.
    public var storableIdentifier: String { storable(limit: Self.storableIdentifierLimit) }
}

extension JSONValue {
    /// This value with NUL removed from every string and object key, so `jsonb` accepts its text.
    /// Two keys that differ only by NUL become one (the later in key order wins).
    public var storable: JSONValue {
        containsNUL ? withoutNUL : self
    }

    private var withoutNUL: JSONValue {
        switch self {
        case .string(let text): return .string(text.storable())
        case .array(let items): return .array(items.map(\.withoutNUL))
        case .object(let fields):
            var cleaned: [String: JSONValue] = [:]
            cleaned.reserveCapacity(fields.count)
            for key in fields.keys.sorted() {
                cleaned[key.storable()] = fields[key]?.withoutNUL
            }
            return .object(cleaned)
        case .null, .bool, .int, .double: return self
        }
    }

    /// Whether some string or key in this value holds a NUL.
    var containsNUL: Bool {
        switch self {
        case .string(let text): text.utf8.contains(0)
        case .array(let items): items.contains(where: \.containsNUL)
        case .object(let fields): fields.contains { key, value in key.utf8.contains(0) || value.containsNUL }
        case .null, .bool, .int, .double: false
        }
    }
}
