import Testing
import ScutumCore

@testable import ScutumGuardrails

@Suite("Banned topics, safe regexes and malicious URLs")
struct TopicsAndURLTests {
    static let topics = scanner {
        $0.bannedTopics = [
            BannedTopic(name: "crypto-mining", keywords: ["crypto mining", "cryptojacking"]),
            BannedTopic(name: "competitors", keywords: ["Acme Corp", "Globex"]),
            BannedTopic(name: "projects", patterns: [try! SafeRegex(#"\bproject\s+(alpha|beta)\b"#)]),
            BannedTopic(name: "ünïcode", keywords: ["Straße"]),
        ]
    }

    @Test(
        "keywords match whole words, case-insensitively; patterns match anywhere they say",
        arguments: [
            ("Let's talk about CRYPTO MINING rigs", ["crypto-mining"], ["CRYPTO MINING"]),
            ("crypto\nmining at night", ["crypto-mining"], ["crypto\nmining"]),
            ("Is cryptojacking legal?", ["crypto-mining"], ["cryptojacking"]),
            ("We beat acme corp and Globex.", ["competitors"], ["acme corp"]),
            ("Status of Project  Beta?", ["projects"], ["Project  Beta"]),
            ("die Straße", ["ünïcode"], ["Straße"]),
            ("cryptominingpool", [], []),
            ("crypto  mining (two spaces)", [], []),
            ("Globexample", [], []),
            ("projectalpha", [], []),
            ("project alphabet", [], []),
        ])
    func bannedTopics(text: String, names: [String], matched: [String]) {
        #expect(rules(Self.topics, text) == names)
        #expect(matches(Self.topics, text) == matched)
        #expect(Self.topics.scan(text, direction: .input).isBlocked == !names.isEmpty)
    }

    @Test("one finding per topic, at its first match")
    func firstPerTopic() {
        #expect(matches(Self.topics, "Globex, then Acme Corp, then globex") == ["Globex"])
    }

    @Test(
        "patterns that need backtracking, or could blow up, are refused at validation",
        arguments: [
            ("(a+)+", "Nested quantifiers"), ("(a*)*b", "Nested quantifiers"), ("(x+x+)+y", "Nested quantifiers"),
            ("a**", "Nested quantifiers"), (#"(a)\1"#, "Backreferences"), (#"\k<n>"#, "Backreferences"),
            ("(?=x)y", "Lookahead"), ("(?<=x)y", "Lookbehind"), ("(?>a)", "Atomic"), ("a++", "Possessive"),
            ("a{1000}", "limited"), ("", "empty"), ("a*", "empty string"), ("(", "Missing ')'"), ("a)", "Unbalanced"),
            ("[a-", "Missing ']'"), (#"\q"#, "Unknown escape"), (String(repeating: "a", count: 513), "at most 512"),
            ("(?P=name)", "Backreferences"), ("(?<na me>x)", "Invalid group name"), ("[é]", "ASCII"),
        ])
    func refusedPatterns(pattern: String, message: String) {
        #expect(throws: SafeRegexError.self) { try SafeRegex(pattern) }
        do {
            _ = try SafeRegex(pattern)
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test(
        "the supported syntax matches leftmost-first, case-insensitively",
        arguments: [
            (#"[a-z]+@[a-z]+\.com"#, "mail Bob@Example.COM now", "Bob@Example.COM"),
            ("colou?r", "The COLOR red", "COLOR"), (#"\d{3}-\d{4}"#, "call 555-1234", "555-1234"),
            ("a|ab", "xab", "a"), ("(ab)+c", "ababc", "ababc"), ("x.*?y", "x1y2y", "x1y"), ("x.*y", "x1y2y", "x1y2y"),
            (#"^start"#, "start here", "start"), (#"end$"#, "the end", "end"), (#"[^0-9 ]+"#, "12 ab3", "ab"),
            (#"\bcat\b"#, "concat cat", "cat"), (#"\Bcat"#, "concat cat", "cat"), ("(?i)HeLLo", "hello", "hello"),
            (#"(?<word>w\w+)"#, "a wow", "wow"), ("a{2,3}", "aaaa", "aaa"), ("ü", "Über über", "ü"),
            (#"\{x\}"#, "{x}", "{x}"), ("a{,2}", "a{,2}", "a{,2}"),
        ])
    func regexMatches(pattern: String, text: String, matched: String) throws {
        let regex = try SafeRegex(pattern)
        let range = try #require(regex.firstMatch(in: text))
        #expect(String(decoding: Array(text.utf8)[range], as: UTF8.self) == matched)
    }

    @Test("a quantified alternation without nested quantifiers is allowed and still linear")
    func quantifiedAlternation() throws {
        let regex = try SafeRegex("(a|aa)+b")
        #expect(regex.firstMatch(in: String(repeating: "a", count: 20_000)) == nil)
        #expect(regex.firstMatch(in: "aaab") == 0..<4)
    }

    static let urls = scanner {
        $0.enableMaliciousURLs = true
        $0.blockedHosts = ["evil.example", "malware.test"]
    }

    @Test(
        "malicious URLs",
        arguments: [
            ("<a href=\"javascript:alert(document.cookie)\">", "dangerous_scheme"),
            ("VBScript:MsgBox(1)", "dangerous_scheme"),
            ("<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">", "data_url"),
            ("data:text/html,<script>alert(1)</script>", "data_url"),
            ("open file:///etc/passwd", "file_url"),
            ("http://192.168.0.1/admin", "ip_literal_host"), ("http://3232235777/", "ip_literal_host"),
            ("https://[2001:db8::1]:8443/", "ip_literal_host"), ("http://0x7f.0.0.1/", "ip_literal_host"),
            ("https://xn--pple-43d.com/login", "punycode_host"), ("https://login.xn--80ak6aa92e.com", "punycode_host"),
            ("https://paypal.com@evil.example/login", "userinfo_in_url"),
            ("https://user:pass@example.com/", "userinfo_in_url"),
            ("https://аpple.com/", "non_ascii_host"),
            ("see https://login.evil.example/x", "blocked_host"), ("wss://MALWARE.TEST:443/socket", "blocked_host"),
        ])
    func maliciousURLs(text: String, rule: String) {
        #expect(rules(Self.urls, text) == [rule])
    }

    @Test(
        "ordinary links and prose with colons are fine",
        arguments: [
            "https://docs.example.com/path?q=1#frag", "JavaScript: The Good Parts", "Input data: 5 rows",
            "http://notevil.example/", "https://evil.example.org/", "mailto:jane@example.com", "ftp://files.example.net/a",
            "time 12:30:45", "C:\\Users\\me", "http://localhost:8080/health",
        ])
    func benignURLs(text: String) {
        #expect(rules(Self.urls, text) == [])
    }
}

@Suite("Safe regex prefilter")
struct SafeRegexLiteralTests {
    @Test(
        "the literal every match contains, for the banned-topic prefilter",
        arguments: [
            (#"\bProject\s+(alpha|beta)"#, "project"), ("ab\\Bcdef", "abcdef"), ("x+y", ""), ("(foo|bar)baz", "baz"),
            ("a.b", ""), ("gun\\s*powder", "powder"),
        ])
    func literal(pattern: String, literal: String) throws {
        #expect(try SafeRegex(pattern).requiredLiteral == Array(literal.utf8))
    }

    @Test("a pattern runs when its literal appears in any case, and is skipped otherwise")
    func prefilter() {
        let topics = scanner { $0.bannedTopics = [BannedTopic(name: "p", patterns: [try! SafeRegex(#"gun\s*powder"#)])] }
        #expect(rules(topics, "black GUN POWDER") == ["p"])
        #expect(rules(topics, "gunpowder") == ["p"])
        #expect(rules(topics, "gun smoke") == [])
    }
}
