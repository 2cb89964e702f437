import Foundation

/// The ways Google service-account authentication can fail.
///
/// No case ever carries private-key material: messages name the offending
/// field or describe the problem, never the value of a secret.
public enum GoogleAuthError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The service-account JSON key file is unusable; the message says why
    /// (not JSON, a missing field, a wrong `type`, ...).
    case invalidServiceAccount(String)
    /// The `private_key` field is not a PEM-encoded RSA private key of at least 2048 bits.
    case invalidPrivateKey
    /// Signing the JWT assertion with the private key failed.
    case signingFailed
    /// The token endpoint answered with a non-2xx status; `message` is Google's
    /// `error` / `error_description` when the body carries them.
    case tokenRequestFailed(status: Int, message: String)
    /// The token endpoint answered 2xx but the body is not a usable token response.
    case malformedTokenResponse(String)

    public var description: String {
        switch self {
        case .invalidServiceAccount(let reason):
            "invalid Google service account key: \(reason)"
        case .invalidPrivateKey:
            "invalid Google service account key: private_key is not a PEM RSA private key (PKCS#8 or PKCS#1, 2048 bits or more)"
        case .signingFailed:
            "signing the Google OAuth JWT assertion failed"
        case .tokenRequestFailed(let status, let message):
            "Google OAuth token request failed with HTTP \(status): \(message)"
        case .malformedTokenResponse(let reason):
            "malformed Google OAuth token response: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
