import ScutumCore

/// Which detector family produced a finding; the `scanner` field of findings and of block errors.
public enum GuardrailScannerKind: String, Sendable, Hashable, CaseIterable {
    case pii
    case secrets
    case promptInjection = "prompt_injection"
    case invisibleText = "invisible_text"
    case bannedTopic = "banned_topic"
    case maliciousURL = "malicious_url"
    case maxInputTokens = "max_input_tokens"
}

/// One thing a detector found. It holds where (UTF-8 byte offsets into the scanned text), never the
/// matched text itself, so findings can go to logs, spend records and the audit trail as they are.
public struct GuardrailFinding: Sendable, Hashable, CustomStringConvertible {
    public var scanner: GuardrailScannerKind
    /// The entity or rule: `EMAIL_ADDRESS`, `CREDIT_CARD`, `openai_api_key`, `ignore_previous_instructions`,
    /// a banned topic's name, `punycode_host`...
    public var rule: String
    /// UTF-8 byte offsets into the scanned text (for a stream: into the whole output so far).
    public var range: Range<Int>
    /// 0...1: how sure and how bad. Pattern matches with a checksum score 1; heuristics less.
    public var riskScore: Double

    public init(scanner: GuardrailScannerKind, rule: String, range: Range<Int>, riskScore: Double = 1) {
        self.scanner = scanner
        self.rule = rule
        self.range = range
        self.riskScore = riskScore
    }

    /// `{"scanner","rule","start","end","risk_score"}`: safe to log (no matched text).
    public var json: JSONValue {
        [
            "scanner": .string(scanner.rawValue), "rule": .string(rule), "start": .int(Int64(range.lowerBound)),
            "end": .int(Int64(range.upperBound)), "risk_score": .double(riskScore),
        ]
    }

    public var description: String { "\(scanner.rawValue)/\(rule)@\(range.lowerBound)..<\(range.upperBound)" }

    /// The same finding `offset` bytes further on.
    func shifted(by offset: Int) -> GuardrailFinding {
        var copy = self
        copy.range = (range.lowerBound + offset)..<(range.upperBound + offset)
        return copy
    }
}
