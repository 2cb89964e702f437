import Foundation

/// An error the gateway answers with, in OpenAI's error JSON:
/// `{"error":{"message","type","param","code"}}` with an HTTP status.
public struct GatewayError: Error, Sendable, Equatable {
    /// HTTP status code of the response.
    public var status: Int
    public var message: String
    /// OpenAI's error type, e.g. `invalid_request_error`.
    public var type: String
    /// The request parameter at fault, if any.
    public var param: String?
    /// A machine-readable code, e.g. `model_not_found`.
    public var code: String?
    /// Extra response headers, e.g. `Retry-After`.
    public var headers: [String: String]

    public init(
        status: Int, message: String, type: String, param: String? = nil, code: String? = nil,
        headers: [String: String] = [:]
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
    }

    /// The JSON body, `{"error":{...}}`.
    public var body: ErrorBody { ErrorBody(error: .init(message: message, type: type, param: param, code: code)) }

    /// The encoded JSON body.
    public func jsonData() -> Data {
        // Encoding four optional strings cannot fail.
        (try? ErrorBody.encoder.encode(body)) ?? Data(#"{"error":{"message":"internal error"}}"#.utf8)
    }

    /// The wire shape of an OpenAI error body.
    public struct ErrorBody: Codable, Sendable, Equatable {
        public struct Detail: Codable, Sendable, Equatable {
            public var message: String
            public var type: String
            public var param: String?
            public var code: String?

            public func encode(to encoder: any Encoder) throws {
                // OpenAI writes `null` for absent param/code rather than omitting them.
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message, forKey: .message)
                try container.encode(type, forKey: .type)
                try container.encode(param, forKey: .param)
                try container.encode(code, forKey: .code)
            }
        }
        public var error: Detail

        static let encoder: JSONEncoder = {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return encoder
        }()
    }
}

extension GatewayError {
    /// 400: the request is malformed or a field is invalid.
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = "invalid_value")
        -> GatewayError
    {
        GatewayError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// 400: a required field is missing.
    public static func missingParameter(_ param: String) -> GatewayError {
        GatewayError(
            status: 400, message: "Missing required parameter: '\(param)'.", type: "invalid_request_error",
            param: param, code: "missing_required_parameter")
    }

    /// 400: the body is not valid JSON.
    public static func invalidJSON(_ detail: String) -> GatewayError {
        GatewayError(
            status: 400,
            message: "We could not parse the JSON body of your request: \(detail). The body must be a JSON object.",
            type: "invalid_request_error", code: "invalid_json")
    }

    /// 401: no key was presented.
    public static let missingAPIKey = GatewayError(
        status: 401,
        message: "You didn't provide an API key. Send it in the Authorization header as 'Bearer YOUR_KEY'.",
        type: "authentication_error", code: "missing_api_key", headers: ["WWW-Authenticate": "Bearer"])

    /// 401: the key is unknown, revoked, blocked or expired.
    public static func invalidAPIKey(_ reason: String = "Incorrect API key provided.") -> GatewayError {
        GatewayError(
            status: 401, message: reason, type: "authentication_error", code: "invalid_api_key",
            headers: ["WWW-Authenticate": "Bearer"])
    }

    /// 404: no model, group alias or provider alias has this name.
    public static func modelNotFound(_ name: String) -> GatewayError {
        GatewayError(
            status: 404,
            message: "The model '\(name)' does not exist. GET /v1/models lists the models and aliases you can use.",
            type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// 400: the model exists but not for this endpoint (chat vs embeddings).
    public static func wrongModelMode(_ name: String, expected: String) -> GatewayError {
        GatewayError(
            status: 400, message: "The model '\(name)' is not a \(expected) model.", type: "invalid_request_error",
            param: "model", code: "model_not_supported")
    }

    /// 413: the body exceeds the configured limit.
    public static func requestTooLarge(limit: Int) -> GatewayError {
        GatewayError(
            status: 413, message: "The request body exceeds the gateway's limit of \(limit) bytes.",
            type: "invalid_request_error", code: "request_too_large")
    }

    /// 503: nothing could serve the request.
    public static func noDeployment(_ message: String) -> GatewayError {
        GatewayError(status: 503, message: message, type: "service_unavailable", code: "no_available_deployment")
    }

    /// 499: the caller gave up (disconnected, or the node is stopping) before an answer came.
    public static let cancelled = GatewayError(status: 499, message: "The request was cancelled before it was answered.",
        type: "api_error", code: "request_cancelled")

    /// 500: an internal failure that is the gateway's own.
    public static func internalError(_ message: String) -> GatewayError {
        GatewayError(status: 500, message: message, type: "api_error", code: "internal_error")
    }

    /// 404 for unknown routes.
    public static func routeNotFound(method: String, path: String) -> GatewayError {
        GatewayError(
            status: 404, message: "Unknown request URL: \(method) \(path).", type: "invalid_request_error",
            code: "unknown_url")
    }
}
