import HTTPTypes
import Hummingbird
import NIOCore

/// Response helpers shared by the mocked providers.
enum MockResponses {
    static let eventStreamHeaders: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"]

    static func json(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields: HTTPFields = [.contentType: "application/json"]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// OpenAI's error JSON with a type that fits the status.
    static func openAIError(status: Int, message: String? = nil, retryAfter: String? = nil) -> Response {
        let (type, code): (String, String?) = switch status {
        case 400: ("invalid_request_error", nil)
        case 401: ("invalid_request_error", "invalid_api_key")
        case 403: ("invalid_request_error", "unsupported_country_region_territory")
        case 404: ("invalid_request_error", "model_not_found")
        case 429: ("requests", "rate_limit_exceeded")
        default: ("server_error", nil)
        }
        let text = message ?? "The mock upstream was told to fail with HTTP \(status)."
        let body = #"{"error":{"message":\#(JSONText.quote(text)),"type":"\#(type)","param":null,"code":\#(code.map { "\"\($0)\"" } ?? "null")}}"#
        var headers: HTTPFields = [:]
        if let retryAfter, let name = HTTPField.Name("Retry-After") { headers[name] = retryAfter }
        return json(body, status: HTTPResponse.Status(code: status), headers: headers)
    }
}
