import Foundation
import HTTPTypes
import Hummingbird

/// The error bodies and headers of Anthropic, Google (Gemini API, Vertex AI) and AWS Bedrock.
enum ProviderErrors {
    // MARK: Anthropic

    /// Anthropic's `request-id` header value.
    static func anthropicRequestID(vertex: Bool = false) -> String {
        (vertex ? "req_vrtx_" : "req_") + JSONText.randomID(24)
    }

    /// Anthropic's error type for an HTTP status.
    static func anthropicType(_ status: Int) -> String {
        switch status {
        case 400: "invalid_request_error"
        case 401: "authentication_error"
        case 402: "billing_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 529: "overloaded_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }

    /// `{"type":"error","error":{"type":...,"message":...},"request_id":...}` with `request-id`,
    /// and `retry-after` on 429 (or whenever a retry delay is given).
    static func anthropic(status: Int, message: String? = nil, retryAfter: String? = nil, vertex: Bool = false) -> Response {
        let text = message ?? anthropicMessage(status)
        let requestID = anthropicRequestID(vertex: vertex)
        let body = #"{"type":"error","error":{"type":"\#(anthropicType(status))","message":\#(JSONText.quote(text))},"request_id":"\#(requestID)"}"#
        var headers: HTTPFields = [:]
        headers[HTTPField.Name("request-id")!] = requestID
        if let delay = retryAfter ?? (status == 429 ? "1" : nil) { headers[HTTPField.Name("retry-after")!] = delay }
        return MockResponses.json(body, status: HTTPResponse.Status(code: status), headers: headers)
    }

    static func anthropicMessage(_ status: Int) -> String {
        switch status {
        case 401: "invalid x-api-key"
        case 403: "Your API key does not have permission to use the specified resource."
        case 404: "The requested resource could not be found."
        case 429: "This request would exceed the rate limit for your organization. Please try again later."
        case 500: "Internal server error"
        case 529: "Overloaded"
        default: "The mock upstream was told to fail with HTTP \(status)."
        }
    }

    // MARK: Google

    /// Google's canonical status name for an HTTP status.
    static func googleStatus(_ status: Int) -> String {
        switch status {
        case 400: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 409: "ABORTED"
        case 429: "RESOURCE_EXHAUSTED"
        case 499: "CANCELLED"
        case 500: "INTERNAL"
        case 501: "NOT_IMPLEMENTED"
        case 503: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION"
        }
    }

    static func googleMessage(_ status: Int) -> String {
        switch status {
        case 429: "Resource has been exhausted (e.g. check quota)."
        case 500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
        case 503: "The model is overloaded. Please try again later."
        default: "The mock upstream was told to fail with HTTP \(status)."
        }
    }

    /// Google's error JSON, indented as Google writes it; a retry delay becomes a
    /// `google.rpc.RetryInfo` detail (Google sends no `Retry-After` header).
    static func google(status: Int, message: String? = nil, retryAfter: String? = nil) -> Response {
        let text = message ?? googleMessage(status)
        var body = "{\n  \"error\": {\n    \"code\": \(status),\n    \"message\": \(JSONText.quote(text)),\n    \"status\": \"\(googleStatus(status))\""
        if let retryAfter, let seconds = Double(retryAfter) {
            let delay = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
            body += ",\n    \"details\": [\n      {\n        \"@type\": \"type.googleapis.com/google.rpc.RetryInfo\",\n        \"retryDelay\": \"\(delay)s\"\n      }\n    ]"
        }
        body += "\n  }\n}\n"
        return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json; charset=UTF-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// Google's OAuth 2.0 token endpoint error: `{"error": ..., "error_description": ...}`.
    static func oauth(_ error: String, _ description: String, status: Int = 400) -> Response {
        let body = "{\n  \"error\": \(JSONText.quote(error)),\n  \"error_description\": \(JSONText.quote(description))\n}"
        return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    // MARK: AWS

    /// The `x-amzn-ErrorType` namespace of Bedrock's own errors.
    static let bedrockNamespace = "http://internal.amazon.com/coral/com.amazon.bedrock/"
    /// The namespace of errors raised by the AWS front end before Bedrock (authentication).
    static let coralNamespace = "http://internal.amazon.com/coral/com.amazon.coral.service/"

    /// Bedrock's exception name for an HTTP status.
    static func bedrockType(_ status: Int) -> String {
        switch status {
        case 403: "AccessDeniedException"
        case 404: "ResourceNotFoundException"
        case 408: "ModelTimeoutException"
        case 424: "ModelErrorException"
        case 429: "ThrottlingException"
        case 503: "ServiceUnavailableException"
        case 500...: "InternalServerException"
        default: "ValidationException"
        }
    }

    static func bedrockMessage(_ status: Int) -> String {
        switch status {
        case 403: "You don't have access to the model with the specified model ID."
        case 404: "Could not resolve the foundation model from the provided model identifier."
        case 429: "Too many requests, please wait before trying again."
        case 500: "The system encountered an unexpected error during processing. Try your request again."
        case 503: "Bedrock is unable to process your request."
        default: "The mock upstream was told to fail with HTTP \(status)."
        }
    }

    /// `{"message":...}` with `x-amzn-ErrorType: <Type>:<namespace>` and `x-amzn-RequestId`.
    static func bedrock(status: Int, type: String? = nil, message: String? = nil,
        namespace: String = bedrockNamespace) -> Response
    {
        let body = #"{"message":\#(JSONText.quote(message ?? bedrockMessage(status)))}"#
        var headers: HTTPFields = [:]
        headers[HTTPField.Name("x-amzn-ErrorType")!] = (type ?? bedrockType(status)) + ":" + namespace
        headers[HTTPField.Name("x-amzn-RequestId")!] = UUID().uuidString.lowercased()
        return MockResponses.json(body, status: HTTPResponse.Status(code: status), headers: headers)
    }
}
