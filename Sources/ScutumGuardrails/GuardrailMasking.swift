/// Masking: each masked finding's bytes are replaced by a placeholder, deterministically.
///
/// Placeholders: a PII match becomes its entity in angle brackets (`<EMAIL_ADDRESS>`, `<CREDIT_CARD>`,
/// `<PERSON>`...), a secret becomes `<SECRET>`; the text around is kept byte for byte. Overlapping
/// findings are resolved by position: the one that starts first (the longer one at the same start) wins
/// and the others are dropped.
public enum GuardrailMasking {
    /// The placeholder that replaces `finding`.
    public static func placeholder(for finding: GuardrailFinding) -> String {
        switch finding.scanner {
        case .pii: return "<\(finding.rule)>"
        case .secrets: return "<SECRET>"
        default: return "<REDACTED>"
        }
    }

    /// `findings` without overlaps, in position order.
    static func disjoint(_ findings: [GuardrailFinding]) -> [GuardrailFinding] {
        let sorted = findings.sorted {
            $0.range.lowerBound != $1.range.lowerBound
                ? $0.range.lowerBound < $1.range.lowerBound : $0.range.upperBound > $1.range.upperBound
        }
        var kept: [GuardrailFinding] = []
        for finding in sorted where kept.last.map({ $0.range.upperBound <= finding.range.lowerBound }) ?? true {
            kept.append(finding)
        }
        return kept
    }

    /// `bytes[range]` with the findings inside it replaced (finding ranges are clipped to `range`).
    static func apply(_ findings: [GuardrailFinding], to bytes: some Collection<UInt8>, in range: Range<Int>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(range.count)
        var cursor = range.lowerBound
        let base = bytes.startIndex
        func copy(_ upTo: Int) {
            guard upTo > cursor else { return }
            output.append(contentsOf: bytes[bytes.index(base, offsetBy: cursor)..<bytes.index(base, offsetBy: upTo)])
        }
        for finding in disjoint(findings) {
            let lower = max(finding.range.lowerBound, range.lowerBound)
            let upper = min(finding.range.upperBound, range.upperBound)
            guard lower < upper, lower >= cursor else { continue }
            copy(lower)
            output.append(contentsOf: placeholder(for: finding).utf8)
            cursor = upper
        }
        copy(range.upperBound)
        return output
    }

    /// `text` with `findings` replaced by their placeholders.
    public static func mask(_ text: String, _ findings: [GuardrailFinding]) -> String {
        let bytes = Array(text.utf8)
        return String(decoding: apply(findings, to: bytes, in: 0..<bytes.count), as: UTF8.self)
    }
}
