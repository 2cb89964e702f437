import Crypto
import Foundation
import ScutumCore
import _CryptoExtras

/// Builds the RS256-signed JWT that a service account exchanges for an access token
/// (the OAuth 2.0 JWT bearer grant, RFC 7523).
public enum GoogleJWT {
    /// The scope that grants access to Vertex AI and the rest of Google Cloud.
    public static let cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

    /// How long an assertion is valid, in seconds; Google accepts at most one hour.
    public static let lifetime = 3600

    /// Builds and signs an assertion for `account`.
    ///
    /// The header is `{"alg":"RS256","typ":"JWT","kid":private_key_id}`; the claims are
    /// `iss` (the client e-mail), `scope`, `aud` (the token URI), `iat` and `exp = iat + 3600`.
    ///
    /// - Parameters:
    ///   - account: The service account whose key signs the assertion.
    ///   - issuedAt: The current time; `iat` is its Unix time rounded down to the second.
    ///   - scope: The space-separated OAuth scopes to request.
    /// - Returns: The compact serialization `header.claims.signature`, base64url without padding.
    /// - Throws: ``GoogleAuthError/signingFailed`` when the RSA signature cannot be produced.
    public static func assertion(
        for account: GoogleServiceAccount,
        issuedAt: Date,
        scope: String = cloudPlatformScope
    ) throws(GoogleAuthError) -> String {
        let iat = Int(issuedAt.timeIntervalSince1970.rounded(.down))
        let header = Header(alg: "RS256", typ: "JWT", kid: account.privateKeyID)
        let claims = Claims(iss: account.clientEmail, scope: scope, aud: account.tokenURI, iat: iat, exp: iat + lifetime)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let headerJSON: Data
        let claimsJSON: Data
        do {
            headerJSON = try encoder.encode(header)
            claimsJSON = try encoder.encode(claims)
        } catch {
            throw GoogleAuthError.signingFailed
        }
        return try compactRS256(header: headerJSON, payload: claimsJSON, key: account.signingKey)
    }

    /// Signs `header` and `payload` (raw JSON bytes) with RS256 and returns the JWS compact
    /// serialization. Exposed internally so the RFC 7515 vector can be checked byte for byte.
    static func compactRS256(header: Data, payload: Data, key: _RSA.Signing.PrivateKey) throws(GoogleAuthError) -> String {
        let signingInput = base64URLEncoded(header) + "." + base64URLEncoded(payload)
        let signature: _RSA.Signing.RSASignature
        do {
            signature = try key.signature(
                for: SHA256.hash(data: Data(signingInput.utf8)),
                padding: .insecurePKCS1v1_5
            )
        } catch {
            throw GoogleAuthError.signingFailed
        }
        return signingInput + "." + base64URLEncoded(signature.rawRepresentation)
    }

    /// Base64url without padding (RFC 7515 section 2).
    static func base64URLEncoded(_ data: Data) -> String {
        Base64URL.encode(data)
    }

    private struct Header: Encodable {
        let alg: String
        let typ: String
        let kid: String
    }

    private struct Claims: Encodable {
        let iss: String
        let scope: String
        let aud: String
        let iat: Int
        let exp: Int
    }
}
