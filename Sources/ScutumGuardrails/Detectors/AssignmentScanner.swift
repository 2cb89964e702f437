import Foundation
import ScutumCore

/// The `generic_secret` and `aws_secret_access_key` rules of `SecretsDetector`: high-entropy values
/// assigned to credential-like names (`api_key = "..."`, `"client_secret": "..."`, `TOKEN=...`); the
/// name part must end there or be followed by a separator, digit or capital (`apiKey`), so `keyboard`
/// and `tokenizer` are not credential names.
/// The finding covers the value only, so masking keeps the name: `api_key=<SECRET>`.
enum AssignmentScanner {
    private static let names: [StaticString] = [
        "key", "keys", "secret", "secrets", "token", "tokens", "password", "passwd", "pwd", "auth", "credential",
        "credentials",
    ]

    static func detect(in text: Bytes, skipping tokens: [Range<Int>], into findings: inout [GuardrailFinding]) {
        var index = 0
        while index < text.count {
            let byte = text[index]
            guard byte == UInt8(ascii: "=") || byte == UInt8(ascii: ":") else {
                index += 1
                continue
            }
            defer { index += 1 }
            guard let (isAWS, nameEnd) = name(before: index, in: text), nameEnd <= index else { continue }
            guard let value = value(after: index, in: text) else { continue }
            if tokens.contains(where: { $0.overlaps(value) }) { continue }
            let rule: String
            if isAWS && value.count == 40 {
                rule = "aws_secret_access_key"
            } else {
                guard looksSecret(text, value) else { continue }
                rule = "generic_secret"
            }
            findings.append(GuardrailFinding(scanner: .secrets, rule: rule, range: value, riskScore: 0.8))
            index = value.upperBound - 1
        }
    }

    /// The identifier before the operator at `index` when it names a credential: (mentions AWS and secret, end).
    private static func name(before index: Int, in text: Bytes) -> (Bool, Int)? {
        var end = index
        while end > 0, text[end - 1] == UInt8(ascii: " ") { end -= 1 }
        if end > 0, text[end - 1] == UInt8(ascii: "\"") || text[end - 1] == UInt8(ascii: "'") { end -= 1 }
        var start = end
        while start > 0, end - start < 64,
            ASCII.isAlnum(text[start - 1]) || text[start - 1] == UInt8(ascii: "_") || text[start - 1] == UInt8(ascii: "-")
                || text[start - 1] == UInt8(ascii: ".")
        {
            start -= 1
        }
        guard end - start >= 3 else { return nil }
        var matched = false
        var position = start
        while position < end, !matched {
            for name in names where ASCII.hasPrefix(text, at: position, name) {
                // The name must end the identifier or a part of it: `api_key`, `apiKey`, `secretValue`,
                // `token2`, not `keyboard` or `tokenizer`.
                let after = position + name.utf8CodeUnitCount
                guard after <= end else { continue }
                if after == end || !ASCII.isLower(text[after]) {
                    matched = true
                    break
                }
            }
            position += 1
        }
        guard matched else { return nil }
        var aws = false, secret = false
        for position in start..<end {
            aws = aws || ASCII.hasPrefix(text, at: position, "aws")
            secret = secret || ASCII.hasPrefix(text, at: position, "secret")
        }
        return (aws && secret, end)
    }

    /// The assigned literal after the operator at `index`.
    private static func value(after index: Int, in text: Bytes) -> Range<Int>? {
        var start = index + 1
        if start < text.count, text[start] == UInt8(ascii: "=") { return nil }  // `==`, `:=`-free comparisons
        if start < text.count, text[start] == UInt8(ascii: ">") { start += 1 }
        while start < text.count, text[start] == UInt8(ascii: " ") { start += 1 }
        if start < text.count, text[start] == UInt8(ascii: "\"") || text[start] == UInt8(ascii: "'") { start += 1 }
        var end = start
        while end < text.count, end - start < 256, isValueByte(text[end]) { end += 1 }
        guard end - start >= 16 else { return nil }
        return start..<end
    }

    @inline(__always) private static func isValueByte(_ byte: UInt8) -> Bool {
        ASCII.isAlnum(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "~")
    }

    /// Letters and digits, and at least 3 bits of Shannon entropy a byte.
    static func looksSecret(_ text: Bytes, _ range: Range<Int>) -> Bool {
        var counts = [Int](repeating: 0, count: 128)
        var letter = false, digit = false
        for index in range {
            let byte = text[index]
            counts[Int(byte & 0x7F)] += 1
            letter = letter || ASCII.isLetter(byte)
            digit = digit || ASCII.isDigit(byte)
        }
        guard letter, digit else { return false }
        let total = Double(range.count)
        var entropy = 0.0
        for count in counts where count > 0 {
            let p = Double(count) / total
            entropy -= p * log2(p)
        }
        return entropy >= 3
    }
}
