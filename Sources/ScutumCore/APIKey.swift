import Crypto
import Foundation

/// Gateway API keys: generation, hashing and display. Keys are stored only as SHA-256 hashes.
public enum APIKey {
    /// A new random key, `sk-` followed by 48 URL-safe characters (288 bits).
    public static func generate(prefix: String = "sk-") -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let body = (0..<48).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        return prefix + String(body)
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
