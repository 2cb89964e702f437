import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Google's OAuth 2.0 token endpoint for service accounts (`POST /token`, the JWT bearer grant),
/// issuing the access tokens the mock's Vertex AI routes accept.
///
/// The assertion's RS256 signature cannot be verified without the service account's public key,
/// so the mock checks its shape only: 256 bytes, an RSA-2048 signature.
enum GoogleOAuth {
    static let grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    static let cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
    static let timeframe = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."

    /// The access tokens issued so far, with their expiry.
    final class TokenStore: Sendable {
        private let tokens = Mutex<[String: Date]>([:])

        init() {}

        func issue(lifetime: Int, now: Date = Date()) -> String {
            let token = "ya29.mock-" + JSONText.randomID(40)
            tokens.withLock { tokens in
                tokens = tokens.filter { $0.value > now }
                tokens[token] = now.addingTimeInterval(TimeInterval(lifetime))
            }
            return token
        }

        func isValid(_ token: String, now: Date = Date()) -> Bool {
            tokens.withLock { $0[token].map { $0 > now } ?? false }
        }
    }

    static func register(on router: Router<BasicRequestContext>, tokens: TokenStore, knobs: MockKnobs, log: MockRequestLog?) {
        router.post("/token") { request, _ in
            let bytes = try await MockUpstream.record(request, log: log)
            let host = request.head.authority ?? "localhost"
            return exchange(form: formFields(bytes), audience: "http://\(host)/token", tokens: tokens,
                lifetime: knobs.tokenLifetimeSeconds)
        }
    }

    /// Checks a JWT bearer grant and answers with a new access token or Google's error.
    static func exchange(form: [String: String], audience: String, tokens: TokenStore, lifetime: Int, now: Date = Date()) -> Response {
        guard let grant = form["grant_type"], grant == grantType else {
            return ProviderErrors.oauth("unsupported_grant_type", "Invalid grant_type: \(form["grant_type"] ?? "")")
        }
        guard let assertion = form["assertion"], !assertion.isEmpty else {
            return ProviderErrors.oauth("invalid_request", "Missing required parameter: assertion")
        }
        let segments = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3, let header = jsonObject(segments[0]), let claims = jsonObject(segments[1]) else {
            return ProviderErrors.oauth("invalid_grant", "Invalid JWT: The assertion is not a JWT of three base64url-encoded segments.")
        }
        guard header["alg"] as? String == "RS256", (header["typ"] as? String ?? "JWT") == "JWT" else {
            return ProviderErrors.oauth("invalid_grant", "Invalid JWT: Only RS256-signed tokens of type JWT are accepted.")
        }
        guard let issuer = claims["iss"] as? String, !issuer.isEmpty else {
            return ProviderErrors.oauth("invalid_grant", "Invalid JWT: The iss claim is required.")
        }
        let scopes = (claims["scope"] as? String ?? "").split(separator: " ")
        guard scopes.contains(where: { $0 == cloudPlatformScope }) else {
            return ProviderErrors.oauth("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        }
        guard let aud = claims["aud"] as? String, aud.hasSuffix("/token") else {
            return ProviderErrors.oauth("invalid_grant", "Invalid JWT: Failed audience check. The right audience is \(audience)")
        }
        let clock = now.timeIntervalSince1970
        guard let issuedAt = number(claims["iat"]), let expiry = number(claims["exp"]), expiry > issuedAt,
            expiry - issuedAt <= 3600, expiry > clock, issuedAt <= clock + 300
        else {
            return ProviderErrors.oauth("invalid_grant", timeframe)
        }
        guard let signature = base64URL(segments[2]), signature.count == 256 else {
            return ProviderErrors.oauth("invalid_grant", "Invalid JWT Signature.")
        }
        let token = tokens.issue(lifetime: lifetime, now: now)
        let body = "{\n  \"access_token\": \"\(token)\",\n  \"expires_in\": \(lifetime),\n  \"token_type\": \"Bearer\"\n}"
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// The fields of an `application/x-www-form-urlencoded` body.
    static func formFields(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                let plain = $0.replacingOccurrences(of: "+", with: " ")
                return plain.removingPercentEncoding ?? plain
            }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    /// Bytes of an unpadded base64url segment.
    static func base64URL(_ segment: Substring) -> Data? {
        var text = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: text)
    }

    static func jsonObject(_ segment: Substring) -> [String: Any]? {
        base64URL(segment).flatMap { JSONText.object(Array($0)) }
    }

    static func number(_ value: Any?) -> Double? {
        switch value {
        case let value as Int: Double(value)
        case let value as Double: value
        case let value as NSNumber: value.doubleValue
        default: nil
        }
    }
}
