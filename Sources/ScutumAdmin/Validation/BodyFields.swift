import Foundation
import Hummingbird
import NIOCore
import ScutumCore

/// A field of a partial update: not sent, sent as `null` (clear it), or sent with a value.
enum Field<Value: Sendable>: Sendable {
    case absent
    case null
    case value(Value)

    /// The value, nil when absent or null.
    var value: Value? {
        if case .value(let value) = self { return value }
        return nil
    }

    /// Whether the body mentioned the field at all.
    var isPresent: Bool {
        if case .absent = self { return false }
        return true
    }

    /// The new value of a stored optional: unchanged when absent, nil when null.
    func applied(to current: Value?) -> Value? {
        switch self {
        case .absent: current
        case .null: nil
        case .value(let value): value
        }
    }

    func map<T>(_ transform: (Value) -> T) -> Field<T> {
        switch self {
        case .absent: .absent
        case .null: .null
        case .value(let value): .value(transform(value))
        }
    }
}

/// Reads and validates the fields of a JSON object body the way FastAPI does: every problem is
/// collected with its location, and `finish()` throws them together as one 422.
struct BodyFields {
    let object: [String: JSONValue]
    private(set) var errors: [FieldError] = []

    init(_ object: [String: JSONValue]) {
        self.object = object
    }

    /// The body of `request` as a JSON object: 413 over `limit` bytes, 422 for invalid JSON or a
    /// body that is not an object. An empty body counts as `{}`.
    static func read(_ request: Request, limit: Int) async throws -> BodyFields {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw AdminError.bodyTooLarge
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw AdminError.bodyTooLarge
        }
        return try parse(buffer)
    }

    static func parse(_ buffer: ByteBuffer) throws(AdminError) -> BodyFields {
        let bytes = buffer.readableBytesView
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return BodyFields([:]) }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw AdminError.invalid(["body", .int(Int64(error.offset))], "JSON decode error", type: "json_invalid")
        }
        guard let object = value.objectValue else {
            throw AdminError.invalid(["body"], "Input should be a valid dictionary or object to extract fields from",
                type: "model_attributes_type")
        }
        if let path = nulLocation(in: value) {
            throw AdminError.invalid(["body"] + path, "Strings must not contain the NUL character (U+0000)",
                type: "string_nul")
        }
        return BodyFields(object)
    }

    /// Where the first key or string holding U+0000 is (PostgreSQL stores no NUL in text or jsonb, so
    /// such a body is refused whole, whatever field it is in), or nil.
    static func nulLocation(in value: JSONValue) -> [JSONValue]? {
        switch value {
        case .string(let text):
            return text.utf8.contains(0) ? [] : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let path = nulLocation(in: item) { return [.int(Int64(index))] + path }
            }
            return nil
        case .object(let members):
            for (key, member) in members {
                if key.utf8.contains(0) { return [.string(key.replacingOccurrences(of: "\0", with: "\\u0000"))] }
                if let path = nulLocation(in: member) { return [.string(key)] + path }
            }
            return nil
        case .null, .bool, .int, .double:
            return nil
        }
    }

    /// Throws the collected errors, if any, as a 422.
    func finish() throws(AdminError) {
        if !errors.isEmpty { throw AdminError.validation(errors) }
    }

    /// Records a problem with `name` (or a path below it).
    mutating func fail(_ name: String, _ message: String, type: String, path: [JSONValue] = []) {
        errors.append(FieldError(location: ["body", .string(name)] + path, message: message, type: type))
    }

    /// Refuses fields outside `allowed` (most bodies ignore unknown fields, as pydantic does).
    mutating func rejectUnknown(allowed: Set<String>) {
        for name in object.keys.sorted() where !allowed.contains(name) {
            fail(name, "Extra inputs are not permitted", type: "extra_forbidden")
        }
    }

    /// `field`'s value, recording "Field required" when it is absent or null.
    mutating func required<T>(_ name: String, _ field: Field<T>) -> T? {
        if case .value(let value) = field { return value }
        if case .absent = field { fail(name, "Field required", type: "missing") }
        return nil
    }

    /// The field converted by `convert` (nil: `typeError`), then checked by `check` (an error
    /// message and type, or nil when the value is fine). Null is `.null`, or a type error when not
    /// `nullable`.
    private mutating func read<T>(_ name: String, nullable: Bool, typeError: (String, String),
        convert: (JSONValue) -> T?, check: (T) -> (String, String)? = { _ in nil }) -> Field<T>
    {
        guard let value = object[name] else { return .absent }
        if value.isNull && nullable { return .null }
        guard let converted = convert(value) else {
            fail(name, typeError.0, type: typeError.1)
            return .absent
        }
        if let problem = check(converted) {
            fail(name, problem.0, type: problem.1)
            return .absent
        }
        return .value(converted)
    }

    mutating func string(_ name: String, nullable: Bool = true, nonEmpty: Bool = false, maxLength: Int = 1024)
        -> Field<String>
    {
        read(name, nullable: nullable, typeError: ("Input should be a valid string", "string_type"),
            convert: \.stringValue)
        { text in
            if nonEmpty && text.trimmingCharacters(in: .whitespaces).isEmpty {
                return ("String should have at least 1 character", "string_too_short")
            }
            if text.count > maxLength { return ("String should have at most \(maxLength) characters", "string_too_long") }
            return nil
        }
    }

    /// An e-mail address (`local@domain`, at most 320 characters), lower-cased; nil when absent or null.
    mutating func email(_ name: String) -> String? {
        read(name, nullable: true, typeError: ("Input should be a valid string", "string_type"),
            convert: { $0.stringValue?.trimmingCharacters(in: .whitespaces).lowercased() })
        { text in
            let parts = text.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
                !parts[1].hasSuffix("."), text.count <= 320, !text.contains(where: \.isWhitespace)
            else { return ("value is not a valid email address", "value_error") }
            return nil
        }.value
    }

    /// A number `>= 0` (money), up to a trillion.
    mutating func amount(_ name: String) -> Field<Double> {
        read(name, nullable: true, typeError: ("Input should be a valid number", "float_type"),
            convert: { $0.doubleValue.flatMap { $0.isFinite ? $0 : nil } })
        { number in
            if number < 0 { return ("Input should be greater than or equal to 0", "greater_than_equal") }
            if number > 1e12 { return ("Input should be less than or equal to 1000000000000", "less_than_equal") }
            return nil
        }
    }

    /// An integer `> 0` that fits PostgreSQL's `integer`.
    mutating func positiveInt(_ name: String, nullable: Bool = true) -> Field<Int> {
        read(name, nullable: nullable, typeError: ("Input should be a valid integer", "int_type"),
            convert: { $0.intValue.map { Int(clamping: $0) } })
        { number in
            if number <= 0 { return ("Input should be greater than 0", "greater_than") }
            if number > Int(Int32.max) { return ("Input should be less than or equal to \(Int32.max)", "less_than_equal") }
            return nil
        }
    }

    mutating func bool(_ name: String, nullable: Bool = true) -> Field<Bool> {
        read(name, nullable: nullable, typeError: ("Input should be a valid boolean", "bool_type"),
            convert: \.boolValue)
    }

    /// A list of non-empty strings, duplicates dropped (order kept).
    mutating func stringList(_ name: String) -> Field<[String]> {
        let list = read(name, nullable: true, typeError: ("Input should be a valid list", "list_type"),
            convert: \.arrayValue)
        guard case .value(let items) = list else { return list.map { _ in [] } }
        var strings: [String] = []
        var valid = true
        for (index, item) in items.enumerated() {
            guard let text = item.stringValue, !text.isEmpty else {
                fail(name, "Input should be a valid string", type: "string_type", path: [.int(Int64(index))])
                valid = false
                continue
            }
            if !strings.contains(text) { strings.append(text) }
        }
        return valid ? .value(strings) : .absent
    }

    /// A JSON object.
    mutating func object(_ name: String) -> Field<JSONValue> {
        read(name, nullable: true, typeError: ("Input should be a valid dictionary", "dict_type"),
            convert: { $0.objectValue == nil ? Optional<JSONValue>.none : $0 })
    }

    /// A JSON object or array.
    mutating func structured(_ name: String) -> Field<JSONValue> {
        read(name, nullable: true, typeError: ("Input should be a valid dictionary or list", "dict_type"),
            convert: { $0.objectValue != nil || $0.arrayValue != nil ? $0 : Optional<JSONValue>.none })
    }

    /// One of `allowed`.
    mutating func literal(_ name: String, _ allowed: [String], nullable: Bool = true) -> Field<String> {
        let message = "Input should be " + allowed.map { "'\($0)'" }.joined(separator: " or ")
        return read(name, nullable: nullable, typeError: (message, "literal_error"),
            convert: { $0.stringValue.flatMap { allowed.contains($0) ? $0 : nil } })
    }

    /// A budget period (`30d`, `12h`, `monthly`...); with `fixedOnly`, a length in seconds
    /// (`90d`, `12h`, `30m`, `60s`), as key lifetimes need.
    mutating func duration(_ name: String, fixedOnly: Bool = false) -> Field<BudgetDuration> {
        let forms = fixedOnly
            ? "a number followed by s, m, h, d or w, such as '90d', '12h', '30m' or '60s'"
            : "a number followed by s, m, h, d, w or mo (such as '30d' or '12h'), or 'daily', 'weekly' or 'monthly'"
        let text = string(name, maxLength: 32)
        guard case .value(let raw) = text else { return text.map { _ in .seconds(0) } }
        guard let duration = BudgetDuration(parsing: raw), !fixedOnly || duration.fixedSeconds != nil else {
            fail(name, "Value error, invalid duration '\(raw)': expected \(forms)", type: "value_error")
            return .absent
        }
        return .value(duration)
    }
}
