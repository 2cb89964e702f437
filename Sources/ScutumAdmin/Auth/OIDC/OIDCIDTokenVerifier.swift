import Foundation
import ScutumCore

/// The claims of a verified id token.
public struct OIDCIDTokenClaims: Sendable, Equatable {
    public var issuer: String
    public var subject: String
    public var audience: [String]
    /// Seconds since 1970.
    public var expiresAt: Int64
    /// Seconds since 1970.
    public var issuedAt: Int64
    public var nonce: String?
    public var email: String?
    public var emailVerified: Bool?
    public var name: String?
    /// The strings of the configured groups claim (empty without it).
    public var groups: [String]
    /// Every claim as sent.
    public var all: [String: JSONValue]
}

/// Verifies OpenID Connect id tokens (OpenID Connect Core 3.1.3.7): an RS256 or ES256 signature by
/// a published key whose type and `alg` fit the header's, then `iss`, `aud`/`azp`, `exp`, `nbf`,
/// `iat` (within the clock skew) and `nonce`. `alg: none`, HMAC and every other algorithm are refused
/// before any key is looked up.
public struct OIDCIDTokenVerifier: Sendable {
    /// The algorithms accepted.
    public static let algorithms: Set<String> = ["RS256", "ES256"]

    /// The discovered issuer; `iss` must equal it exactly.
    public let issuer: String
    /// This relying party's client id; `aud` must contain it.
    public let clientID: String
    /// The tolerance for `exp`, `nbf` and `iat`.
    public let clockSkew: TimeInterval
    /// The claim that carries the user's groups.
    public let groupsClaim: String
    /// The provider's keys.
    public let keySet: OIDCKeySet

    /// A verifier for tokens from `issuer` to `clientID`.
    public init(issuer: String, clientID: String, keySet: OIDCKeySet, clockSkew: TimeInterval = 60,
        groupsClaim: String = "groups")
    {
        self.issuer = issuer
        self.clientID = clientID
        self.keySet = keySet
        self.clockSkew = clockSkew
        self.groupsClaim = groupsClaim
    }

    /// The claims of `token` if it passes every check; otherwise the first failed check's reason.
    ///
    /// - Parameters:
    ///   - token: The compact JWS from the token endpoint's `id_token`.
    ///   - nonce: The nonce sent with the authorization request; `nonce` must equal it.
    ///   - now: The current time.
    public func verify(_ token: String, nonce: String, now: Date = Date()) async throws(OIDCError) -> OIDCIDTokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { throw OIDCError.malformedToken }
        let header = try Self.object(parts[0])
        guard let alg = header["alg"]?.stringValue else { throw OIDCError.malformedToken }
        guard Self.algorithms.contains(alg) else { throw OIDCError.unsupportedAlgorithm(alg) }
        guard header["crit"] == nil else { throw OIDCError.unsupportedCriticalHeader }
        if let typ = header["typ"]?.stringValue, typ.uppercased() != "JWT" { throw OIDCError.malformedToken }
        guard let signature = Base64URL.decode(parts[2]), !signature.isEmpty else { throw OIDCError.invalidSignature }
        let kid = header["kid"]?.stringValue
        let candidates = try await keySet.keys(kid: kid, algorithm: alg)
        let signingInput = String(parts[0]) + "." + String(parts[1])
        var verified = false
        for key in candidates {
            if try key.verifies(signature: signature, signingInput: signingInput, algorithm: alg) {
                verified = true
                break
            }
        }
        guard verified else { throw OIDCError.invalidSignature }

        let claims = try Self.object(parts[1])
        return try check(claims, nonce: nonce, now: now)
    }

    /// The claim checks, on a payload whose signature has been verified.
    func check(_ claims: [String: JSONValue], nonce: String, now: Date) throws(OIDCError) -> OIDCIDTokenClaims {
        guard let iss = claims["iss"]?.stringValue else { throw OIDCError.missingClaim("iss") }
        guard iss == issuer else { throw OIDCError.wrongIssuer(iss) }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else { throw OIDCError.missingClaim("sub") }
        let audience: [String]
        switch claims["aud"] {
        case .string(let single): audience = [single]
        case .array(let many):
            audience = many.compactMap(\.stringValue)
            guard audience.count == many.count else { throw OIDCError.missingClaim("aud") }
        default: throw OIDCError.missingClaim("aud")
        }
        guard audience.contains(clientID) else { throw OIDCError.wrongAudience(audience) }
        let azp = claims["azp"]?.stringValue
        if audience.count > 1, azp == nil { throw OIDCError.wrongAuthorizedParty(nil) }
        if let azp, azp != clientID { throw OIDCError.wrongAuthorizedParty(azp) }

        let clock = now.timeIntervalSince1970
        guard let exp = claims["exp"]?.doubleValue else { throw OIDCError.missingClaim("exp") }
        guard clock < exp + clockSkew else { throw OIDCError.expired }
        guard let iat = claims["iat"]?.doubleValue else { throw OIDCError.missingClaim("iat") }
        guard iat <= clock + clockSkew else { throw OIDCError.issuedInFuture }
        if let nbfValue = claims["nbf"] {
            guard let nbf = nbfValue.doubleValue else { throw OIDCError.missingClaim("nbf") }
            guard nbf <= clock + clockSkew else { throw OIDCError.notYetValid }
        }
        guard let tokenNonce = claims["nonce"]?.stringValue, APIKey.constantTimeEquals(tokenNonce, nonce) else {
            throw OIDCError.wrongNonce
        }
        return OIDCIDTokenClaims(issuer: iss, subject: subject, audience: audience, expiresAt: Int64(exp),
            issuedAt: Int64(iat), nonce: tokenNonce, email: claims["email"]?.stringValue,
            emailVerified: claims["email_verified"]?.boolValue, name: claims["name"]?.stringValue,
            groups: claims[groupsClaim]?.arrayValue?.compactMap(\.stringValue) ?? [], all: claims)
    }

    private static func object(_ part: Substring) throws(OIDCError) -> [String: JSONValue] {
        guard let bytes = Base64URL.decode(part), let value = try? JSONParser.parse(bytes), let object = value.objectValue
        else { throw OIDCError.malformedToken }
        return object
    }
}
