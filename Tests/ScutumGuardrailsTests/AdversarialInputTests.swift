import Testing
import ScutumCore

@testable import ScutumGuardrails

/// Inputs built to make pattern matchers backtrack or rescan. Every detector is linear, so these
/// finish quickly; the tests only require that they finish (and find nothing odd), not a time.
@Suite("Adversarial inputs")
struct AdversarialInputTests {
    static let everything = scanner {
        $0.enablePIIDetection = true
        $0.piiEntities = PIIEntity.allCases
        $0.enableSecretsDetection = true
        $0.enablePromptInjection = true
        $0.enableInvisibleText = true
        $0.enableMaliciousURLs = true
        $0.blockedHosts = ["evil.example"]
        $0.bannedTopics = [
            BannedTopic(name: "t", keywords: ["aaaaaaaab", "a a a a b"], patterns: [try! SafeRegex("(a|aa)+b"), try! SafeRegex(#"\d+\.\d+x"#)])
        ]
    }

    static let inputs: [(String, String)] = [
        ("digits", String(repeating: "1", count: 100_000)),
        ("spaced digits", String(repeating: "1 ", count: 50_000)),
        ("dashed digits", String(repeating: "12-", count: 30_000)),
        ("dotted digits", String(repeating: "1.", count: 50_000)),
        ("at signs", String(repeating: "@", count: 100_000)),
        ("a at a", String(repeating: "a@", count: 50_000)),
        ("long local parts", String(repeating: String(repeating: "a", count: 70) + "@", count: 1_500)),
        ("a", String(repeating: "a", count: 100_000)),
        ("colons", String(repeating: ":", count: 100_000)),
        ("hex and colons", String(repeating: "a1:", count: 30_000)),
        ("key prefixes", String(repeating: "sk-", count: 30_000)),
        ("jwt prefixes", String(repeating: "eyJ.", count: 25_000)),
        ("assignments", String(repeating: "key=", count: 25_000)),
        ("pem headers", String(repeating: "-----BEGIN ", count: 9_000)),
        ("url schemes", String(repeating: "http://", count: 14_000)),
        ("template tokens", String(repeating: "<|", count: 50_000)),
        ("zero width", String(repeating: "\u{200B}", count: 30_000)),
        ("tags", String(repeating: "\u{E0041}", count: 25_000)),
        ("injection words", String(repeating: "ignore all all all ", count: 5_000)),
        ("iban-like", String(repeating: "DE89 ", count: 20_000)),
        ("honorifics", String(repeating: "Dr. ", count: 25_000)),
        ("parens", String(repeating: "(1", count: 50_000)),
    ]

    @Test("a full profile finishes on 100 KB of each pathological input", arguments: inputs.map(\.0))
    func finishes(name: String) {
        let text = Self.inputs.first { $0.0 == name }!.1
        let verdict = Self.everything.scan(text, direction: .input)
        #expect(verdict.findings.count < text.utf8.count)
    }

    @Test("the regex engine stays linear on the classic catastrophic cases")
    func regexLinear() throws {
        let text = String(repeating: "a", count: 50_000) + "!"
        #expect(try SafeRegex("(a|aa)+b").firstMatch(in: text) == nil)
        #expect(try SafeRegex("(a|a)+$").firstMatch(in: text) == nil)
        #expect(try SafeRegex(#"\w+\s+\w+@"#).firstMatch(in: text) == nil)
        #expect(try SafeRegex("a{100}b").firstMatch(in: text) == nil)
    }

    @Test("matches longer than the per-match cap are not found")
    func matchCap() throws {
        let regex = try SafeRegex("x[a-z]+y")
        #expect(regex.firstMatch(in: "x" + String(repeating: "a", count: 1000) + "y") != nil)
        #expect(regex.firstMatch(in: "x" + String(repeating: "a", count: 1100) + "y") == nil)
    }
}
