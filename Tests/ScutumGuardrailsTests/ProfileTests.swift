import ScutumCore
import Testing

@testable import ScutumGuardrails

@Suite("Guardrail profiles: parsing, validation, defaults")
struct ProfileTests {
    @Test("a minimal body gets the defaults")
    func defaults() throws {
        let profile = try GuardrailProfile(json: ["name": "default"])
        #expect(profile == GuardrailProfile(name: "default"))
        #expect(profile.isActive)
        #expect(profile.mode == .both)
        #expect(profile.onFail == .block)
        #expect(profile.piiAction == .mask)
        #expect(profile.piiEntities == PIIEntity.allCases.filter { $0 != .person })
        #expect(profile.secretsAction == .block)
        #expect(profile.promptInjectionThreshold == 0.7)
        #expect(profile.maxInputTokens == nil)
    }

    @Test("every field parses, and the profile's JSON reads back the same")
    func roundTrip() throws {
        let body: JSONValue = [
            "name": "strict-eu", "description": "EU customer data", "is_active": true, "mode": "input",
            "on_fail": "log", "enable_pii_detection": true, "pii_action": "block",
            "pii_entities": ["US_SSN", "EMAIL_ADDRESS", "EMAIL_ADDRESS", "PERSON"],
            "enable_secrets_detection": true, "secrets_action": "mask", "enable_prompt_injection": true,
            "prompt_injection_threshold": 0.55, "enable_invisible_text": true,
            "banned_topics": ["gambling", ["name": "weapons", "keywords": ["rifle", " ammo "], "patterns": [#"\bgun\s*powder\b"#]]],
            "enable_malicious_urls": true, "blocked_hosts": ["*.Evil.example", "malware.test"], "max_input_tokens": 8000,
            "id": "ignored", "created_at": "2025-01-01T00:00:00Z",
        ]
        let profile = try GuardrailProfile(json: body)
        #expect(profile.name == "strict-eu")
        #expect(profile.mode == .input)
        #expect(profile.onFail == .log)
        #expect(profile.piiEntities == [.emailAddress, .usSSN, .person])
        #expect(profile.bannedTopics == [
            BannedTopic(name: "gambling", keywords: ["gambling"]),
            BannedTopic(name: "weapons", keywords: ["rifle", "ammo"], patterns: [try SafeRegex(#"\bgun\s*powder\b"#)]),
        ])
        #expect(profile.blockedHosts == ["evil.example", "malware.test"])
        #expect(profile.maxInputTokens == 8000)
        #expect(try GuardrailProfile(json: profile.json) == profile)
        #expect(profile.json["pii_entities"] == ["EMAIL_ADDRESS", "US_SSN", "PERSON"])
    }

    @Test("the Admin API's {type, value} banned topics: keywords and patterns named by their value; problems at type or value")
    func typedTopics() throws {
        let profile = try GuardrailProfile(json: ["name": "t", "banned_topics": [
            ["type": "keyword", "value": " project titan "], ["type": "regex", "value": #"\bsecret-\d{4}\b"#],
            ["value": "bare keyword"],
        ]])
        #expect(profile.bannedTopics == [
            BannedTopic(name: "project titan", keywords: ["project titan"]),
            BannedTopic(name: #"\bsecret-\d{4}\b"#, patterns: [try SafeRegex(#"\bsecret-\d{4}\b"#)]),
            BannedTopic(name: "bare keyword", keywords: ["bare keyword"]),
        ])
        #expect(throws: GuardrailProfileError.self) {
            try GuardrailProfile(json: ["name": "t", "banned_topics": [["type": "glob", "value": "x"]]])
        }
        do {
            _ = try GuardrailProfile(json: ["name": "t", "banned_topics": [
                ["type": "glob", "value": "x"], ["type": "regex"], ["type": "regex", "value": "(a+)+"],
            ]])
            Issue.record("accepted")
        } catch {
            #expect(error.problems.map { $0.path.map { $0.stringValue ?? $0.intValue.map(String.init) ?? "?" }.joined(separator: ".") } == [
                "banned_topics.0.type", "banned_topics.1.value", "banned_topics.2.value",
            ])
        }
    }

    @Test("null fields take their defaults")
    func nulls() throws {
        let profile = try GuardrailProfile(json: ["name": "n", "mode": nil, "max_input_tokens": nil, "banned_topics": nil])
        #expect(profile == GuardrailProfile(name: "n"))
    }

    @Test("every problem is reported at its field path, in the FastAPI shape")
    func problems() {
        let body: JSONValue = [
            "name": "bad name!", "is_active": "yes", "mode": "sideways", "pii_action": 3,
            "pii_entities": ["EMAIL_ADDRESS", "PASSPORT"], "prompt_injection_threshold": 2,
            "banned_topics": ["", ["name": "x", "patterns": ["(a+)+", "ok"]], ["keywords": ["k"]], ["name": "empty"], 7],
            "blocked_hosts": ["good.example", "bad host", 5], "max_input_tokens": 0,
        ]
        #expect(throws: GuardrailProfileError.self) { try GuardrailProfile(json: body) }
        do {
            _ = try GuardrailProfile(json: body)
        } catch {
            let found = error.problems.map { "\($0.description) [\($0.type)]" }
            #expect(found == [
                "name: Name must be 1 to 64 letters, digits, '-', '_' or '.' [value_error]",
                "is_active: Input should be a valid boolean [bool_type]",
                "mode: Input should be 'input', 'output' or 'both' [enum]",
                "pii_action: Input should be 'block', 'mask' or 'detect' [enum]",
                "pii_entities.1: Input should be 'EMAIL_ADDRESS', 'PHONE_NUMBER', 'CREDIT_CARD', 'US_SSN', 'IBAN_CODE', 'IP_ADDRESS' or 'PERSON' [enum]",
                "prompt_injection_threshold: Input should be greater than 0 and at most 1 [value_error]",
                "banned_topics.0: Keyword must not be empty [value_error]",
                "banned_topics.1.patterns.0: Nested quantifiers (like '(a+)+') are not allowed [value_error]",
                "banned_topics.2.name: Field required [missing]",
                "banned_topics.3: A banned topic needs at least one keyword or pattern [value_error]",
                "banned_topics.4: Input should be a string, {type, value}, or an object with name, keywords and patterns [value_error]",
                "blocked_hosts.1: Host must be a DNS name (letters, digits, '-' and '.'), optionally '*.'-prefixed [value_error]",
                "blocked_hosts.2: Input should be a valid string [string_type]",
                "max_input_tokens: Input should be greater than 0 [greater_than]",
            ])
            #expect(error.problems[4].path == ["pii_entities", 1])
        }
    }

    @Test("a body that is not an object, and a missing name")
    func shape() {
        #expect(throws: GuardrailProfileError([FieldProblem([], "Input should be a valid dictionary", type: "dict_type")])) {
            try GuardrailProfile(json: ["x"])
        }
        #expect(throws: GuardrailProfileError([FieldProblem(["name"], "Field required", type: "missing")])) {
            try GuardrailProfile(json: [:])
        }
    }

    @Test("modes cover directions")
    func modes() {
        #expect(GuardrailMode.both.covers(.input) && GuardrailMode.both.covers(.output))
        #expect(GuardrailMode.input.covers(.input) && !GuardrailMode.input.covers(.output))
        #expect(!GuardrailMode.output.covers(.input) && GuardrailMode.output.covers(.output))
    }
}
