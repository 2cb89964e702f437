@testable import ScutumGuardrails

/// A scanner for one profile, with only what the test turns on.
func scanner(_ configure: (inout GuardrailProfile) -> Void) -> GuardrailScanner {
    var profile = GuardrailProfile(name: "test")
    configure(&profile)
    return GuardrailScanner(profile: profile)
}

/// The rules found in `text` (input direction).
func rules(_ scanner: GuardrailScanner, _ text: String) -> [String] {
    scanner.findings(in: text, direction: .input).map(\.rule)
}

/// The matched substrings, for readable expectations in tests (never in production code).
func matches(_ scanner: GuardrailScanner, _ text: String) -> [String] {
    let bytes = Array(text.utf8)
    return scanner.findings(in: text, direction: .input).map {
        String(decoding: bytes[$0.range], as: UTF8.self)
    }
}
