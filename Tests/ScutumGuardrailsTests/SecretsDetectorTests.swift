import Testing

@testable import ScutumGuardrails

@Suite("Secrets detector")
struct SecretsDetectorTests {
    static let secrets = scanner { $0.enableSecretsDetection = true }

    static let jwt =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
        + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    static let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----"

    @Test(
        "provider keys, tokens, private keys and JWTs are found",
        arguments: [
            ("OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "openai_api_key", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
            ("key: sk-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4", "openai_api_key", "sk-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4"),
            ("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEf", "anthropic_api_key", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEf"),
            ("aws id AKIAIOSFODNN7EXAMPLE.", "aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
            ("ASIAY34FZKBOKMUTVV7A", "aws_access_key_id", "ASIAY34FZKBOKMUTVV7A"),
            ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ("token ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R", "github_token", "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R"),
            ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", "github_token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"),
            ("SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "slack_token", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
            ("maps key AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "google_api_key", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"),
            ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_secret_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            ("Authorization: Bearer \(jwt)", "jwt", jwt),
            ("key:\n\(pem)\nthanks", "private_key", pem),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"),
            (#"{"api_key": "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}"#, "generic_secret", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
            ("client_secret => 'q8Zr3LmN5tV1xB7cD2fG9hJ4'", "generic_secret", "q8Zr3LmN5tV1xB7cD2fG9hJ4"),
        ])
    func positives(text: String, rule: String, matched: String) {
        let found = Self.secrets.findings(in: text, direction: .input)
        let bytes = Array(text.utf8)
        #expect(found.map(\.rule) == [rule])
        #expect(found.map { String(decoding: bytes[$0.range], as: UTF8.self) } == [matched])
    }

    @Test(
        "placeholders, code, short or public values are not secrets",
        arguments: [
            "pip install scikit-learn; import sklearn", "sk-learn is not a key", "sk-this-is-not-a-real-key-at-all",
            "AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPLEX", "xAKIAIOSFODNN7EXAMPLE",
            "api_key = YOUR_API_KEY_HERE", #"password = os.environ["DB_PASSWORD"]"#,
            "token: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "password: hunter2", "if token == expected_token_value_123:",
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----",
            "eyJhbGciOiJIUzI1NiJ9 alone", "ghp_short", "the keyboard: 1234567890abcdefghij is nice",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "xoxb-short",
        ])
    func negatives(text: String) {
        #expect(rules(Self.secrets, text) == [])
    }

    @Test("an assigned value ends at the first character keys do not use; the finding is the value only")
    func assignedValue() {
        #expect(matches(Self.secrets, "DB_PASSWORD=Tr0ub4dor3xK9mQ2vL7pZ;") == ["Tr0ub4dor3xK9mQ2vL7pZ"])
        #expect(matches(Self.secrets, "DB_PASSWORD=Tr0ub4dor&3-xK9mQ2vL7pZ") == [])  // 9 characters before '&'
    }

    @Test("masking secrets keeps the names: exact output")
    func maskExact() {
        let masking = scanner {
            $0.enableSecretsDetection = true
            $0.secretsAction = .mask
        }
        let text = """
            OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z
            config = {"api_key": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "region": "eu"}
            curl -H "Authorization: Bearer \(Self.jwt)"
            """
        #expect(masking.scan(text, direction: .input).decision == .mask("""
            OPENAI_API_KEY=<SECRET>
            config = {"api_key": "<SECRET>", "region": "eu"}
            curl -H "Authorization: Bearer <SECRET>"
            """))
    }

    @Test("secrets block by default, with the rule in the error")
    func blocks() {
        let verdict = Self.secrets.scan("my key is AKIAIOSFODNN7EXAMPLE", direction: .input)
        #expect(verdict.error?.code == "guardrail_violation")
        #expect(verdict.error?.message == "The request was blocked by guardrail 'test': secrets rule 'aws_access_key_id' matched.")
    }
}
