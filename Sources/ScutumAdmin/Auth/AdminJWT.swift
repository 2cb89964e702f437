import Crypto
import Foundation
import ScutumCore

/// The claims of an Admin API access token.
public struct AdminTokenClaims: Sendable, Equatable {
    /// `master` or the id of the admin key that logged in.
    public var subject: String
    public var role: AdminPrincipal.Role
    /// Seconds since 1970.
    public var issuedAt: Int64
    /// Seconds since 1970; the token is refused from this instant on.
    public var expiresAt: Int64

    public init(subject: String, role: AdminPrincipal.Role, issuedAt: Int64, expiresAt: Int64) {
        self.subject = subject
        self.role = role
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

/// HS256 JSON Web Tokens over swift-crypto's HMAC-SHA256: signing, and verification that accepts
/// only `alg: HS256`, a canonical signature compared in constant time, issuer `scutum`, and an
/// unexpired `exp`.
public struct AdminJWT: Sendable {
    /// The `iss` claim of every token.
    public static let issuer = "scutum"
    private let key: SymmetricKey

    public init(secret: [UInt8]) {
        self.key = SymmetricKey(data: secret)
    }

    /// A signed token carrying `claims`.
    public func sign(_ claims: AdminTokenClaims) -> String {
        let header: JSONValue = ["alg": "HS256", "typ": "JWT"]
        let payload: JSONValue = [
            "sub": .string(claims.subject), "role": .string(claims.role.rawValue), "iat": .int(claims.issuedAt),
            "exp": .int(claims.expiresAt), "iss": .string(Self.issuer),
        ]
        let signingInput = Base64URL.encode(Array(header.jsonString.utf8)) + "."
            + Base64URL.encode(Array(payload.jsonString.utf8))
        return signingInput + "." + signature(of: signingInput)
    }

    /// The claims of a valid token; 401 "Invalid token" for anything malformed, tampered, signed
    /// with another key or algorithm, and 401 "Token has expired" once `exp` has passed.
    public func verify(_ token: String, now: Date = Date()) throws(AdminError) -> AdminTokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            throw AdminError.invalidToken
        }
        let header = try Self.object(parts[0])
        guard header["alg"] == .string("HS256"), header["crit"] == nil,
            header["typ"] == nil || header["typ"]?.stringValue?.uppercased() == "JWT"
        else { throw AdminError.invalidToken }
        let expected = signature(of: parts[0] + "." + parts[1])
        guard APIKey.constantTimeEquals(expected, String(parts[2])) else { throw AdminError.invalidToken }

        let payload = try Self.object(parts[1])
        guard let subject = payload["sub"]?.stringValue, !subject.isEmpty,
            let role = payload["role"]?.stringValue.flatMap(AdminPrincipal.Role.init(rawValue:)),
            let expiry = payload["exp"]?.doubleValue, payload["iss"] == .string(Self.issuer)
        else { throw AdminError.invalidToken }
        guard now.timeIntervalSince1970 < expiry else { throw AdminError.tokenExpired }
        let issuedAt = payload["iat"]?.doubleValue ?? 0
        return AdminTokenClaims(subject: subject, role: role, issuedAt: Int64(issuedAt), expiresAt: Int64(expiry))
    }

    private func signature(of signingInput: some StringProtocol) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: key)
        return Base64URL.encode(Array(code))
    }

    private static func object(_ part: Substring) throws(AdminError) -> [String: JSONValue] {
        guard let bytes = Base64URL.decode(part), let value = try? JSONParser.parse(bytes),
            let object = value.objectValue
        else { throw AdminError.invalidToken }
        return object
    }
}
