import Crypto
import Foundation
import ScutumCore
import _CryptoExtras

/// One public key of a JWKS (RFC 7517): RSA (`n`, `e`) or EC P-256 (`x`, `y`).
public struct JSONWebKey: Sendable, Equatable {
    /// `RSA` or `EC`.
    public var keyType: String
    public var keyID: String?
    /// The algorithm the key is meant for, when the provider says (`RS256`, `ES256`).
    public var algorithm: String?
    /// `sig` or `enc`, when the provider says.
    public var use: String?
    /// The RSA modulus and exponent, base64url.
    public var modulus: String?
    public var exponent: String?
    /// The EC curve and coordinates, base64url.
    public var curve: String?
    public var x: String?
    public var y: String?

    /// A key from its JWK members.
    public init(keyType: String, keyID: String?, algorithm: String? = nil, use: String? = nil, modulus: String? = nil,
        exponent: String? = nil, curve: String? = nil, x: String? = nil, y: String? = nil)
    {
        self.keyType = keyType
        self.keyID = keyID
        self.algorithm = algorithm
        self.use = use
        self.modulus = modulus
        self.exponent = exponent
        self.curve = curve
        self.x = x
        self.y = y
    }

    /// The key of a JWK object, or nil without `kty`.
    public init?(_ object: [String: JSONValue]) {
        guard let keyType = object["kty"]?.stringValue else { return nil }
        self.init(keyType: keyType, keyID: object["kid"]?.stringValue, algorithm: object["alg"]?.stringValue,
            use: object["use"]?.stringValue, modulus: object["n"]?.stringValue, exponent: object["e"]?.stringValue,
            curve: object["crv"]?.stringValue, x: object["x"]?.stringValue, y: object["y"]?.stringValue)
    }

    /// The keys of a JWKS document (`{"keys": [...]}`); members that are not usable JWKs are skipped,
    /// as are keys meant for encryption.
    public static func keySet(_ bytes: some Collection<UInt8>) throws(OIDCError) -> [JSONWebKey] {
        guard let document = try? JSONParser.parse(bytes), let keys = document["keys"]?.arrayValue else {
            throw OIDCError.invalidKeySet
        }
        return keys.compactMap { $0.objectValue.flatMap(JSONWebKey.init) }.filter { $0.use == nil || $0.use == "sig" }
    }

    /// Whether this key may verify a token whose header says `alg`: the type and curve must fit, and
    /// the key's own `alg`, when given, must be the same.
    public func fits(algorithm alg: String) -> Bool {
        if let algorithm, algorithm != alg { return false }
        switch alg {
        case "RS256": return keyType == "RSA"
        case "ES256": return keyType == "EC" && curve == "P-256"
        default: return false
        }
    }

    /// Whether `signature` over `signingInput` verifies with this key under `alg` (RS256: RSASSA-PKCS1-v1_5
    /// with SHA-256; ES256: ECDSA P-256 with SHA-256, the signature as the 64-byte `r || s`).
    func verifies(signature: [UInt8], signingInput: some StringProtocol, algorithm alg: String) throws(OIDCError) -> Bool {
        let input = Array(signingInput.utf8)
        switch alg {
        case "RS256":
            guard let modulus = modulus.flatMap(Base64URL.decode), let exponent = exponent.flatMap(Base64URL.decode),
                let key = try? _RSA.Signing.PublicKey(n: modulus, e: exponent)
            else { throw OIDCError.invalidKey(kid: keyID) }
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature),
                for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
        case "ES256":
            guard let x = x.flatMap(Base64URL.decode), let y = y.flatMap(Base64URL.decode), x.count == 32, y.count == 32,
                let key = try? P256.Signing.PublicKey(rawRepresentation: x + y)
            else { throw OIDCError.invalidKey(kid: keyID) }
            guard signature.count == 64, let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else {
                return false
            }
            return key.isValidSignature(ecdsa, for: SHA256.hash(data: input))
        default:
            throw OIDCError.unsupportedAlgorithm(alg)
        }
    }
}
