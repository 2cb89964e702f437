import Foundation
import ScutumCore
import Testing

@Suite("API keys")
struct APIKeyTests {
    static let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    @Test("generated keys are sk- plus 48 URL-safe characters, and differ")
    func format() {
        var seen: Set<String> = []
        for _ in 0..<200 {
            let key = APIKey.generate()
            #expect(key.hasPrefix("sk-"))
            #expect(key.count == 51)
            #expect(key.dropFirst(3).allSatisfy { Self.alphabet.contains($0) }, "\(key)")
            seen.insert(key)
        }
        #expect(seen.count == 200)
        let custom = APIKey.generate(prefix: "sk-admin-")
        #expect(custom.hasPrefix("sk-admin-") && custom.count == 57)
    }

    @Test("only the shape generate() makes is well formed: prefix, length and alphabet")
    func wellFormed() {
        for _ in 0..<50 { #expect(APIKey.isWellFormed(APIKey.generate())) }
        let key = APIKey.generate()
        let body = String(key.dropFirst(3))
        for token in ["", "sk-", "sk-x", key + "A", String(key.dropLast()), "pk-" + body, "SK-" + body,
            "sk-" + String(body.dropLast()) + "=", "sk-" + String(body.dropLast()) + "é", "sk-" + String(body.dropLast()) + " ",
            "sk-" + String(body.dropLast(2)) + "é", APIKey.generate(prefix: "sk-admin-"), "Bearer " + key]
        {
            #expect(!APIKey.isWellFormed(token), "\(token)")
        }
    }

    @Test("generated keys use the whole alphabet")
    func coverage() {
        var used: Set<Character> = []
        for _ in 0..<100 { used.formUnion(APIKey.generate().dropFirst(3)) }
        // 4800 draws from 64 symbols: missing any one has probability ~64 * e^-75.
        #expect(used == Self.alphabet)
    }

    @Test("the hash is the lower-case hex SHA-256 of the key's UTF-8")
    func hash() {
        // ba7816bf 8f01...: byte 0x01 keeps its leading zero.
        #expect(APIKey.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(APIKey.hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let key = APIKey.generate()
        let hash = APIKey.hash(key)
        #expect(hash.count == 64)
        #expect(hash.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(APIKey.hash(key) == hash)
        #expect(APIKey.hash(key + " ") != hash)
    }

    @Test("display shows only the prefix and the last four characters")
    func display() {
        #expect(APIKey.display("sk-abcdefghijklmnopqrstuvwxyz") == "sk-...wxyz")
        #expect(APIKey.display("sk-12345678") == "sk-...5678")
        // Ten characters or fewer would reveal most of the key.
        #expect(APIKey.display("sk-1234567") == "***")
        #expect(APIKey.display("short") == "***")
        #expect(APIKey.display("") == "***")
        let key = APIKey.generate()
        #expect(APIKey.display(key) == "sk-..." + key.suffix(4))
        #expect(!APIKey.display(key).contains(key.dropFirst(3).prefix(8)))
    }

    @Test("constant-time comparison", arguments: [
        ("sk-abc", "sk-abc", true),
        ("", "", true),
        ("sk-abc", "sk-abd", false),
        ("sk-abc", "sk-ab", false),
        ("sk-ab", "sk-abc", false),
        ("abc", "abc\u{0}", false),
        ("abc\u{0}", "abc", false),
        ("", "a", false),
        ("é", "e\u{301}", false),
        ("Sk-abc", "sk-abc", false),
    ])
    func constantTimeEquals(_ lhs: String, _ rhs: String, _ equal: Bool) {
        #expect(APIKey.constantTimeEquals(lhs, rhs) == equal)
    }
}
