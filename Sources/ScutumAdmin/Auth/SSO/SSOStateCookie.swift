import Crypto
import Foundation
import ScutumCore

/// The secrets of a sign-in in progress (`state`, `nonce`, PKCE verifier), kept in the browser as
/// an encrypted, authenticated cookie (AES-256-GCM under a key derived from the Admin API's JWT
/// secret) so that any node of the cluster can finish a sign-in another node began. The cookie is
/// `HttpOnly`, `SameSite=Lax` (the provider's redirect back is a top-level GET), limited to
/// `/auth/sso`, `Secure` when the redirect URI is https, and expires after `lifetime`.
struct SSOStateCookie: Sendable {
    static let name = "scutum_sso"
    static let lifetime: TimeInterval = 600
    private let key: SymmetricKey

    init(secret: [UInt8]) {
        key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret),
            salt: Array("scutum-sso-state".utf8), info: Array("v1".utf8), outputByteCount: 32)
    }

    /// The `Set-Cookie` value carrying `request`'s secrets.
    func set(_ request: OIDCAuthorizationRequest, secure: Bool, now: Date = Date()) throws -> String {
        let payload: JSONValue = [
            "s": .string(request.state), "n": .string(request.nonce), "v": .string(request.codeVerifier),
            "e": .int(Int64(now.timeIntervalSince1970 + Self.lifetime)),
        ]
        let sealed = try AES.GCM.seal(Array(payload.jsonString.utf8), using: key)
        guard let combined = sealed.combined else { throw SSOError.stateInvalid }
        return "\(Self.name)=\(Base64URL.encode(Array(combined))); Path=/auth/sso; Max-Age=\(Int(Self.lifetime)); "
            + "HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    /// The `Set-Cookie` value that removes the cookie.
    static func clear(secure: Bool) -> String {
        "\(name)=; Path=/auth/sso; Max-Age=0; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    /// The request kept in a `Cookie` header; `SSOError.stateMissing` without the cookie,
    /// `stateInvalid` when it does not open or has expired.
    func open(cookieHeader: String?, now: Date = Date()) throws(SSOError) -> OIDCAuthorizationRequest {
        guard let value = Self.value(in: cookieHeader) else { throw .stateMissing }
        guard let bytes = Base64URL.decode(Substring(value)), let box = try? AES.GCM.SealedBox(combined: bytes),
            let plaintext = try? AES.GCM.open(box, using: key), let payload = try? JSONParser.parse(Array(plaintext)),
            let state = payload["s"]?.stringValue, let nonce = payload["n"]?.stringValue,
            let verifier = payload["v"]?.stringValue, let expiry = payload["e"]?.doubleValue
        else { throw .stateInvalid }
        guard now.timeIntervalSince1970 < expiry else { throw .stateExpired }
        return OIDCAuthorizationRequest(url: "", state: state, nonce: nonce, codeVerifier: verifier)
    }

    /// The cookie's value in a `Cookie` header (`a=1; scutum_sso=...`).
    static func value(in header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }
}
