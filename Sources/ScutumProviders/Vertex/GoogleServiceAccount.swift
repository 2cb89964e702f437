import Foundation
import _CryptoExtras

/// A Google service account, decoded from its JSON key file.
///
/// Holds the parsed RSA signing key but never exposes it: `description`,
/// `debugDescription` and the reflection `Mirror` show only the public fields.
public struct GoogleServiceAccount: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The token endpoint used when the key file has no `token_uri`.
    public static let defaultTokenURI = "https://oauth2.googleapis.com/token"

    /// The Google Cloud project the account belongs to (`project_id`).
    public let projectID: String
    /// The identifier of the key pair (`private_key_id`), sent as the JWT `kid`.
    public let privateKeyID: String
    /// The account's e-mail address (`client_email`), sent as the JWT `iss`.
    public let clientEmail: String
    /// The OAuth 2.0 token endpoint (`token_uri`), the JWT `aud` and the exchange URL.
    public let tokenURI: String

    /// The RSA key that signs assertions; internal so it cannot leak through the public API.
    let signingKey: _RSA.Signing.PrivateKey

    /// Decodes a service-account JSON key file.
    ///
    /// - Parameter json: The raw bytes of the key file.
    /// - Throws: ``GoogleAuthError/invalidServiceAccount(_:)`` when the document is not
    ///   a service-account key, ``GoogleAuthError/invalidPrivateKey`` when `private_key`
    ///   cannot be parsed as an RSA private key.
    public init(json: [UInt8]) throws(GoogleAuthError) {
        try self.init(json: Data(json))
    }

    /// Decodes a service-account JSON key file.
    ///
    /// - Parameter json: The raw bytes of the key file.
    /// - Throws: See ``init(json:)-([UInt8])``.
    public init(json: Data) throws(GoogleAuthError) {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
                throw GoogleAuthError.invalidServiceAccount("the key file is not a JSON object")
            }
            object = parsed
        } catch let error as GoogleAuthError {
            throw error
        } catch {
            // The parser's message may quote the input, so it is not passed on.
            throw GoogleAuthError.invalidServiceAccount("the key file is not valid JSON")
        }

        let type = try Self.string("type", in: object)
        guard type == "service_account" else {
            throw GoogleAuthError.invalidServiceAccount(
                "field `type` is \"\(type.prefix(64))\", expected \"service_account\""
            )
        }
        self.projectID = try Self.string("project_id", in: object)
        self.privateKeyID = try Self.string("private_key_id", in: object)
        self.clientEmail = try Self.string("client_email", in: object)

        if object["token_uri"] != nil {
            let uri = try Self.string("token_uri", in: object)
            guard let url = URL(string: uri), let scheme = url.scheme?.lowercased(),
                  scheme == "https" || scheme == "http", url.host != nil
            else {
                throw GoogleAuthError.invalidServiceAccount("field `token_uri` is not an http(s) URL")
            }
            self.tokenURI = uri
        } else {
            self.tokenURI = Self.defaultTokenURI
        }

        self.signingKey = try Self.parsePrivateKey(try Self.string("private_key", in: object))
    }

    /// Parses a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM block.
    static func parsePrivateKey(_ pem: String) throws(GoogleAuthError) -> _RSA.Signing.PrivateKey {
        var pem = pem
        // A key pasted through an environment variable often keeps its JSON escapes.
        if !pem.contains("\n"), pem.contains("\\n") {
            pem = pem.replacingOccurrences(of: "\\n", with: "\n")
        }
        guard pem.contains("-----BEGIN PRIVATE KEY-----") || pem.contains("-----BEGIN RSA PRIVATE KEY-----") else {
            throw GoogleAuthError.invalidPrivateKey
        }
        do {
            return try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw GoogleAuthError.invalidPrivateKey
        }
    }

    /// Reads a required, non-empty string field.
    private static func string(_ key: String, in object: [String: Any]) throws(GoogleAuthError) -> String {
        guard let raw = object[key] else {
            throw GoogleAuthError.invalidServiceAccount("missing field `\(key)`")
        }
        guard let value = raw as? String else {
            throw GoogleAuthError.invalidServiceAccount("field `\(key)` is not a string")
        }
        guard !value.isEmpty else {
            throw GoogleAuthError.invalidServiceAccount("field `\(key)` is empty")
        }
        return value
    }

    public var description: String {
        "GoogleServiceAccount(client_email: \(clientEmail), project_id: \(projectID), private_key_id: \(privateKeyID), token_uri: \(tokenURI))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "projectID": projectID,
                "privateKeyID": privateKeyID,
                "clientEmail": clientEmail,
                "tokenURI": tokenURI,
            ],
            displayStyle: .struct
        )
    }
}
