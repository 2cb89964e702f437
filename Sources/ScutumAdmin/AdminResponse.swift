import Foundation
import HTTPTypes
import Hummingbird
import ScutumCore

/// JSON responses and the date and number forms the Admin API writes.
enum AdminResponse {
    /// `value` as compact JSON with `Content-Type: application/json`.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: value.jsonBytes))
    }
}

/// Conversions to JSON values for optional fields.
extension JSONValue {
    /// A string, or null.
    static func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }

    /// An integer, or null.
    static func optional(_ number: Int?) -> JSONValue { number.map { .int(Int64($0)) } ?? .null }

    /// A number, or null.
    static func optional(_ number: Double?) -> JSONValue { number.map(JSONValue.double) ?? .null }

    /// An ISO-8601 UTC timestamp, or null.
    static func optional(_ date: Date?) -> JSONValue { date.map { .string(ISOTime.format($0)) } ?? .null }

    /// A list of strings.
    static func strings(_ items: [String]) -> JSONValue { .array(items.map(JSONValue.string)) }

    /// JSON text stored in a column, parsed; `fallback` if it does not parse.
    static func stored(_ text: String?, fallback: JSONValue = .null) -> JSONValue {
        guard let text else { return fallback }
        return (try? JSONParser.parse(Array(text.utf8))) ?? fallback
    }
}

/// ISO-8601 timestamps in UTC: written with milliseconds, read with or without fractional seconds,
/// with `Z` or an offset, or as a plain `YYYY-MM-DD` date (midnight UTC).
enum ISOTime {
    private static let writer = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let whole = Date.ISO8601FormatStyle()
    private static let day = Date.ISO8601FormatStyle().year().month().day()

    static func format(_ date: Date) -> String { writer.format(date) }

    /// The instant `text` names, and whether it was a plain date.
    static func parse(_ text: String) -> (date: Date, dateOnly: Bool)? {
        if text.count == 10, let date = try? day.parse(text) { return (date, true) }
        if let date = try? whole.parse(text) { return (date, false) }
        if let date = try? fractional.parse(text) { return (date, false) }
        return nil
    }
}
