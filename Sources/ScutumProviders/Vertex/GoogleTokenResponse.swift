import Foundation

/// The parts of a Google OAuth token endpoint answer that the provider uses.
struct GoogleTokenResponse: Sendable, Equatable {
    /// The bearer token (`access_token`).
    let accessToken: String
    /// Seconds until the token expires (`expires_in`).
    let expiresIn: TimeInterval

    /// Lifetime assumed when a successful answer omits `expires_in` (RFC 6749 makes it optional).
    static let defaultLifetime: TimeInterval = 3600

    /// Interprets an HTTP answer from the token endpoint.
    ///
    /// Messages never quote a successful body, which would contain the token.
    static func parse(status: Int, body: [UInt8]) throws(GoogleAuthError) -> GoogleTokenResponse {
        guard (200..<300).contains(status) else {
            throw GoogleAuthError.tokenRequestFailed(status: status, message: errorMessage(body))
        }
        guard let object = jsonObject(body) else {
            throw GoogleAuthError.malformedTokenResponse("the body is not a JSON object")
        }
        guard let token = object["access_token"] as? String, !token.isEmpty else {
            throw GoogleAuthError.malformedTokenResponse("missing `access_token`")
        }
        if let type = object["token_type"] {
            guard let type = type as? String, type.lowercased() == "bearer" else {
                throw GoogleAuthError.malformedTokenResponse("`token_type` is not Bearer")
            }
        }
        var lifetime = defaultLifetime
        if let raw = object["expires_in"] {
            guard let number = number(raw), number.isFinite, number > 0 else {
                throw GoogleAuthError.malformedTokenResponse("`expires_in` is not a positive number")
            }
            lifetime = number
        }
        return GoogleTokenResponse(accessToken: token, expiresIn: lifetime)
    }

    /// Google's `error` / `error_description`, or a short excerpt of a non-JSON body.
    static func errorMessage(_ body: [UInt8]) -> String {
        if let object = jsonObject(body) {
            var parts: [String] = []
            if let code = object["error"] as? String, !code.isEmpty {
                parts.append(code)
            } else if let nested = object["error"] as? [String: Any], let message = nested["message"] as? String {
                parts.append(message)
            }
            if let description = object["error_description"] as? String, !description.isEmpty {
                parts.append(description)
            }
            if !parts.isEmpty {
                return parts.joined(separator: ": ")
            }
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self)
            .split(whereSeparator: \.isWhitespace)
            .joined(separator: " ")
        return text.isEmpty ? "empty response body" : text
    }

    private static func jsonObject(_ body: [UInt8]) -> [String: Any]? {
        guard !body.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    private static func number(_ raw: Any) -> Double? {
        if let value = raw as? Int { return Double(value) }
        if let value = raw as? Double { return value }
        if let value = raw as? String { return Double(value) }
        return nil
    }
}
