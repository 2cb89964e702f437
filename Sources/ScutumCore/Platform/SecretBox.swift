import Crypto
import Foundation

/// Encrypts small secrets for storage at rest (AES-256-GCM), e.g. the environment and header values
/// of registered MCP servers. Every node derives the same key from the same material
/// (`SCUTUM_ENCRYPTION_KEY`, else the master key), so any node reads what another wrote.
public struct SecretBox: Sendable {
    static let prefix = "enc:v1:"
    let key: SymmetricKey

    /// A box whose key is derived (HKDF-SHA256) from `material`.
    public init(material: [UInt8]) {
        key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: material),
            salt: Array("scutum-secrets".utf8), info: Array("v1".utf8), outputByteCount: 32)
    }

    /// Whether `stored` is a sealed value (rather than one stored before encryption was on).
    public static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(prefix) }

    /// `enc:v1:` and the base64 of nonce, ciphertext and tag.
    public func seal(_ plaintext: String) throws -> String {
        let box = try AES.GCM.seal(Array(plaintext.utf8), using: key)
        guard let combined = box.combined else { throw SecretBoxError.sealFailed }
        return Self.prefix + combined.base64EncodedString()
    }

    /// The plaintext of a sealed value; a value that is not sealed is returned as it is.
    public func open(_ stored: String) throws -> String {
        guard Self.isSealed(stored) else { return stored }
        guard let data = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count))) else {
            throw SecretBoxError.malformed
        }
        let plaintext = try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key)
        return String(decoding: plaintext, as: UTF8.self)
    }
}

/// A secret that could not be sealed or opened (wrong key, or damaged).
public enum SecretBoxError: Error, CustomStringConvertible {
    case sealFailed
    case malformed

    public var description: String {
        switch self {
        case .sealFailed: "the secret could not be encrypted"
        case .malformed: "the stored secret is damaged or was encrypted with another key"
        }
    }
}
