import Crypto
import Foundation

/// Gateway API keys: generation, hashing and display. Keys are stored only as SHA-256 hashes.
public enum APIKey {
    /// What every key the gateway issues starts with.
    public static let prefix = "sk-"
    /// Characters after the prefix.
    public static let bodyLength = 48

    /// A new random key, `sk-` followed by 48 URL-safe characters (288 bits).
    public static func generate(prefix: String = APIKey.prefix) -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let body = (0..<bodyLength).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        return prefix + String(body)
    }

    /// Whether `token` has the shape of a key `generate()` makes (`sk-` and 48 of `[A-Za-z0-9_-]`).
    /// Anything else cannot be a stored key, so it is refused without a look-up. The master key is
    /// compared on its own before this.
    public static func isWellFormed(_ token: String) -> Bool {
        let bytes = token.utf8
        guard bytes.count == prefix.utf8.count + bodyLength, bytes.starts(with: prefix.utf8) else { return false }
        return bytes.dropFirst(prefix.utf8.count).allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
            default: false
            }
        }
    }

    /// Lower-case hex SHA-256 of the key, the form stored in PostgreSQL.
    public static func hash(_ key: String) -> String {
        Hex.lowercase(SHA256.hash(data: Array(key.utf8)))
    }

    /// A short form safe to show and log: `sk-...wxyz`.
    public static func display(_ key: String) -> String {
        guard key.count > 10 else { return "***" }
        return String(key.prefix(3)) + "..." + String(key.suffix(4))
    }

    /// Compares two secrets in time that depends only on their lengths.
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
