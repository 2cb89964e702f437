import Crypto
import ScutumCore

/// Secure random values for the authorization request: `state`, `nonce` and the PKCE pair.
public enum OIDCRandom {
    /// `byteCount` bytes from the system's cryptographically secure generator, base64url-encoded.
    public static func token(byteCount: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount + 8)
        while bytes.count < byteCount {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Base64URL.encode(bytes.prefix(byteCount))
    }
}

/// A PKCE (RFC 7636) verifier and its S256 challenge.
public struct PKCE: Sendable, Equatable {
    /// The secret sent to the token endpoint: 43 base64url characters (32 random bytes).
    public let verifier: String
    /// `BASE64URL(SHA256(verifier))`, sent with the authorization request.
    public let challenge: String
    /// Always `S256`; the `plain` method is never used.
    public let method = "S256"

    /// A fresh verifier from the secure generator, and its challenge.
    public init() {
        self.init(verifier: OIDCRandom.token(byteCount: 32))
    }

    /// The challenge for a given verifier (for tests and the RFC 7636 appendix B vector).
    public init(verifier: String) {
        self.verifier = verifier
        self.challenge = Self.challenge(for: verifier)
    }

    /// `BASE64URL(SHA256(ASCII(verifier)))`.
    public static func challenge(for verifier: String) -> String {
        Base64URL.encode(SHA256.hash(data: Array(verifier.utf8)))
    }
}
