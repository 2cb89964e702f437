import Foundation
import Hummingbird

/// Reads and validates query parameters and path segments, collecting FastAPI-style errors
/// (`loc: ["query", name]`) that `finish()` throws as one 422.
struct QueryFields {
    private var parameters: [String: String] = [:]
    private(set) var errors: [FieldError] = []

    init(_ request: Request) {
        for (key, value) in request.uri.queryParameters { parameters[String(key)] = String(value) }
    }

    func finish() throws(AdminError) {
        if !errors.isEmpty { throw AdminError.validation(errors) }
    }

    /// A non-empty parameter, else nil.
    func string(_ name: String) -> String? {
        parameters[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Refuses parameters outside `allowed` (for endpoints where a misspelt filter must not widen
    /// what they act on).
    mutating func rejectUnknown(allowed: Set<String>) {
        for name in parameters.keys.sorted() where !allowed.contains(name) {
            errors.append(FieldError(location: ["query", .string(name)], message: "Extra inputs are not permitted",
                type: "extra_forbidden"))
        }
    }

    /// A parameter that, when present, must be non-empty and at most `maxLength` characters.
    mutating func text(_ name: String, maxLength: Int) -> String? {
        guard let text = parameters[name] else { return nil }
        if text.isEmpty {
            errors.append(FieldError(location: ["query", .string(name)], message: "String should have at least 1 character",
                type: "string_too_short"))
            return nil
        }
        if text.count > maxLength {
            errors.append(FieldError(location: ["query", .string(name)],
                message: "String should have at most \(maxLength) characters", type: "string_too_long"))
            return nil
        }
        return text
    }

    /// A UUID parameter, nil when absent (an error when present and not a UUID).
    mutating func uuid(_ name: String) -> UUID? {
        guard let text = text(name, maxLength: 64) else { return nil }
        guard let id = UUID(uuidString: text) else {
            errors.append(FieldError(location: ["query", .string(name)], message: "Input should be a valid UUID",
                type: "uuid_parsing"))
            return nil
        }
        return id
    }

    /// An ISO-8601 instant or a `YYYY-MM-DD` date. With `endOfDay`, a plain date means the end of
    /// that day (so `end=2025-01-31` includes the 31st).
    mutating func date(_ name: String, endOfDay: Bool = false) -> Date? {
        guard let text = string(name) else { return nil }
        guard let (date, dateOnly) = ISOTime.parse(text) else {
            errors.append(FieldError(location: ["query", .string(name)],
                message: "Input should be a valid datetime or date (ISO-8601, such as 2025-01-31 or 2025-01-31T12:00:00Z)",
                type: "datetime_parsing"))
            return nil
        }
        return dateOnly && endOfDay ? date.addingTimeInterval(86_400) : date
    }

    /// An integer from 1 to `maximum`, `defaultValue` when absent.
    mutating func limit(_ name: String = "limit", default defaultValue: Int, maximum: Int) -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let number = Int(text) else {
            errors.append(FieldError(location: ["query", .string(name)],
                message: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing"))
            return defaultValue
        }
        if number < 1 {
            errors.append(FieldError(location: ["query", .string(name)], message: "Input should be greater than 0",
                type: "greater_than"))
        } else if number > maximum {
            errors.append(FieldError(location: ["query", .string(name)],
                message: "Input should be less than or equal to \(maximum)", type: "less_than_equal"))
        }
        return min(max(number, 1), maximum)
    }

    /// An integer within `range`, `defaultValue` when absent or invalid (the error is recorded).
    mutating func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let number = Int(text) else {
            errors.append(FieldError(location: ["query", .string(name)],
                message: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing"))
            return defaultValue
        }
        if number < range.lowerBound {
            errors.append(FieldError(location: ["query", .string(name)],
                message: "Input should be greater than or equal to \(range.lowerBound)", type: "greater_than_equal"))
            return defaultValue
        }
        if number > range.upperBound {
            errors.append(FieldError(location: ["query", .string(name)],
                message: "Input should be less than or equal to \(range.upperBound)", type: "less_than_equal"))
            return defaultValue
        }
        return number
    }

    /// One of `allowed`, nil when absent.
    mutating func literal(_ name: String, _ allowed: [String]) -> String? {
        guard let text = string(name) else { return nil }
        guard allowed.contains(text) else {
            errors.append(FieldError(location: ["query", .string(name)],
                message: "Input should be " + allowed.map { "'\($0)'" }.joined(separator: " or "), type: "literal_error"))
            return nil
        }
        return text
    }
}

/// Path segments, percent-decoded.
enum PathParameter {
    /// The decoded segment `name` (Hummingbird hands over the raw, still-encoded text).
    static func string(_ context: AdminRequestContext, _ name: String) throws(AdminError) -> String {
        guard let raw = context.parameters.get(name) else { throw AdminError.routeNotFound }
        return raw.removingPercentEncoding ?? raw
    }

    /// The segment as a UUID; 422 when it is not one.
    static func uuid(_ context: AdminRequestContext, _ name: String) throws(AdminError) -> UUID {
        let text = try string(context, name)
        guard let id = UUID(uuidString: text) else {
            throw AdminError.invalid(["path", .string(name)], "Input should be a valid UUID", type: "uuid_parsing")
        }
        return id
    }
}
