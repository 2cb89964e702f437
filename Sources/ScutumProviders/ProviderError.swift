import ScutumCore

/// Why a call to a provider failed, before it is turned into the gateway's answer.
public struct ProviderError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The provider answered with an error status.
        case status(Int)
        /// No response head within the head timeout, or the stream went idle too long.
        case timeout
        /// The connection failed or dropped.
        case connection
        /// The provider sent something the gateway could not understand.
        case malformed
        /// The client's request cannot be expressed in this provider's format (checked before calling it).
        case invalidRequest(param: String?)
    }

    public var kind: Kind
    /// What happened, safe to show to the client (never contains credentials).
    public var message: String
    /// The provider's `Retry-After`, when it sent one.
    public var retryAfter: String?
    /// The client error's machine-readable code (`invalidRequest` only), e.g. `unsupported_tool`.
    public var code: String?

    public init(_ kind: Kind, _ message: String, retryAfter: String? = nil, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.retryAfter = retryAfter
        self.code = code
    }

    /// Whether another deployment might succeed where this one failed (fallbacks use this).
    public var isRetryable: Bool {
        switch kind {
        case .status(let status): status == 429 || status >= 500 || status == 401 || status == 403 || status == 404
        case .timeout, .connection, .malformed: true
        case .invalidRequest: false
        }
    }

    /// The answer the client gets, following the gateway's status table: the client's own mistakes
    /// stay 400, provider rate limits stay 429, everything else the provider did wrong is a 500.
    public func gatewayError(model: String) -> GatewayError {
        switch kind {
        case .invalidRequest(let param):
            return GatewayError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
        case .status(let status) where status == 400 || status == 422 || status == 413:
            return GatewayError(status: 400, message: message, type: "invalid_request_error", code: "upstream_rejected")
        case .status(429):
            return GatewayError(status: 429, message: "The provider behind '\(model)' is rate limiting: \(message)",
                type: "rate_limit_error", code: "upstream_rate_limited",
                headers: retryAfter.map { ["Retry-After": $0] } ?? [:])
        case .status(let status) where status == 401 || status == 403:
            return GatewayError(status: 500,
                message: "The provider behind '\(model)' rejected the gateway's credentials (HTTP \(status)); an operator must fix them.",
                type: "api_error", code: "upstream_auth_failed")
        case .status(let status):
            return GatewayError(status: 500, message: "The provider behind '\(model)' failed with HTTP \(status): \(message)",
                type: "api_error", code: "upstream_error")
        case .timeout:
            return GatewayError(status: 500, message: "The provider behind '\(model)' timed out: \(message)",
                type: "api_error", code: "upstream_timeout")
        case .connection:
            return GatewayError(status: 500, message: "The connection to the provider behind '\(model)' failed: \(message)",
                type: "api_error", code: "upstream_connection_error")
        case .malformed:
            return GatewayError(status: 500, message: "The provider behind '\(model)' sent a malformed response: \(message)",
                type: "api_error", code: "upstream_malformed_response")
        }
    }

    public var description: String { "ProviderError(\(kind), \(message))" }
}
