import ScutumCore

/// Credentials, by shape, each a rule of the `secrets` scanner:
/// - `openai_api_key`: `sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-` and 20+ key characters mixing
///   upper case, lower case and digits (so `sk-learn-some-words` is not one);
/// - `anthropic_api_key`: `sk-ant-` and 32+ key characters;
/// - `aws_access_key_id`: `AKIA`/`ASIA`/`ABIA`/`ACCA` and exactly 16 upper-case letters or digits;
/// - `aws_secret_access_key`: a 40-character value assigned to a name with `aws` and `secret` in it;
/// - `github_token`: `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` and 36+ letters or digits, or `github_pat_` and 22+;
/// - `slack_token`: `xoxb-`/`xoxp-`/`xoxa-`/`xoxr-`/`xoxs-`/`xoxe-`/`xapp-` and 10+ characters;
/// - `google_api_key`: `AIza` and exactly 35 key characters;
/// - `stripe_secret_key`: `sk_live_`/`rk_live_` and 20+ letters or digits;
/// - `private_key`: a PEM block from `-----BEGIN ... PRIVATE KEY-----` to its `-----END ...-----` line
///   (to the end of the text when the end is missing);
/// - `jwt`: `eyJ...` header, `.`, `eyJ...` payload, `.`, signature (possibly empty), base64url;
/// - `generic_secret`: a value assigned (`=`, `:`, `=>`) to a name containing `key`, `secret`,
///   `token`, `password`, `passwd`, `pwd`, `auth` or `credential`: 16+ characters of
///   `[A-Za-z0-9_+/=.~-]` with both letters and digits and at least 3 bits of entropy a character, so
///   placeholders (`YOUR_API_KEY_HERE`, `xxxxxxxx`) and code (`os.environ["KEY"]`) are not secrets.
/// Key tokens must not continue a longer token: a boundary (not a key character) before and after.
struct SecretsDetector: Detector {
    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        let first = findings.count
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: "-"), ASCII.hasExactPrefix(text, at: index, "-----BEGIN "),
                let range = Self.privateKey(text, at: index)
            {
                findings.append(GuardrailFinding(scanner: .secrets, rule: "private_key", range: range))
                index = range.upperBound
                continue
            }
            guard Self.isKeyByte(byte) else {
                index += 1
                continue
            }
            let start = index
            while index < text.count, Self.isKeyByte(text[index]) { index += 1 }
            if index - start >= 16, !(start > 0 && text[start - 1] == UInt8(ascii: ".")) {
                if let (rule, end) = Self.token(text, start..<index) {
                    findings.append(GuardrailFinding(scanner: .secrets, rule: rule, range: start..<end))
                    index = end
                }
            }
        }
        let tokens = findings[first...].map(\.range)
        AssignmentScanner.detect(in: text, skipping: tokens, into: &findings)
    }

    /// Letters, digits, `_` and `-`: what API keys are made of.
    @inline(__always) static func isKeyByte(_ byte: UInt8) -> Bool {
        ASCII.isAlnum(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    /// The rule and end of a credential token spanning `range` (a maximal run of key bytes).
    private static func token(_ text: Bytes, _ range: Range<Int>) -> (String, Int)? {
        let start = range.lowerBound
        let count = range.count
        func body(after prefix: Int, _ allowed: (UInt8) -> Bool) -> Int {
            var length = 0
            while start + prefix + length < range.upperBound, allowed(text[start + prefix + length]) { length += 1 }
            return start + prefix + length == range.upperBound ? length : -1
        }
        switch text[start] {
        case UInt8(ascii: "s"):
            if ASCII.hasExactPrefix(text, at: start, "sk-ant-") {
                return count - 7 >= 32 ? ("anthropic_api_key", range.upperBound) : nil
            }
            if ASCII.hasExactPrefix(text, at: start, "sk_live_") { return stripe(text, range, prefix: 8) }
            if ASCII.hasExactPrefix(text, at: start, "sk-") {
                return mixedCase(text, (start + 3)..<range.upperBound, minimum: 20)
                    ? ("openai_api_key", range.upperBound) : nil
            }
        case UInt8(ascii: "r"):
            if ASCII.hasExactPrefix(text, at: start, "rk_live_") { return stripe(text, range, prefix: 8) }
        case UInt8(ascii: "A"):
            if count == 20, ASCII.hasExactPrefix(text, at: start, "AKIA") || ASCII.hasExactPrefix(text, at: start, "ASIA")
                || ASCII.hasExactPrefix(text, at: start, "ABIA") || ASCII.hasExactPrefix(text, at: start, "ACCA"),
                body(after: 4, { ASCII.isUpper($0) || ASCII.isDigit($0) }) == 16
            {
                return ("aws_access_key_id", range.upperBound)
            }
            if count == 39, ASCII.hasExactPrefix(text, at: start, "AIza") { return ("google_api_key", range.upperBound) }
        case UInt8(ascii: "g"):
            if ASCII.hasExactPrefix(text, at: start, "github_pat_") {
                return body(after: 11, { ASCII.isAlnum($0) || $0 == UInt8(ascii: "_") }) >= 22
                    ? ("github_token", range.upperBound) : nil
            }
            if count >= 40, ASCII.hasExactPrefix(text, at: start, "gh"), text[start + 3] == UInt8(ascii: "_"),
                [UInt8(ascii: "p"), UInt8(ascii: "o"), UInt8(ascii: "u"), UInt8(ascii: "s"), UInt8(ascii: "r")]
                    .contains(text[start + 2]),
                body(after: 4, ASCII.isAlnum) >= 36
            {
                return ("github_token", range.upperBound)
            }
        case UInt8(ascii: "x"):
            if ASCII.hasExactPrefix(text, at: start, "xapp-")
                || (ASCII.hasExactPrefix(text, at: start, "xox") && text[start + 4] == UInt8(ascii: "-")
                    && [UInt8(ascii: "b"), UInt8(ascii: "p"), UInt8(ascii: "a"), UInt8(ascii: "r"), UInt8(ascii: "s"),
                        UInt8(ascii: "e")].contains(text[start + 3]))
            {
                return count - 5 >= 10 && mixedCase(text, (start + 5)..<range.upperBound, minimum: 10, needsUpper: false)
                    ? ("slack_token", range.upperBound) : nil
            }
        case UInt8(ascii: "e"):
            if ASCII.hasExactPrefix(text, at: start, "eyJ"), let end = jwt(text, range) { return ("jwt", end) }
        default:
            break
        }
        return nil
    }

    private static func stripe(_ text: Bytes, _ range: Range<Int>, prefix: Int) -> (String, Int)? {
        let body = (range.lowerBound + prefix)..<range.upperBound
        guard body.count >= 20, body.allSatisfy({ ASCII.isAlnum(text[$0]) }) else { return nil }
        return ("stripe_secret_key", range.upperBound)
    }

    /// Whether `range` is at least `minimum` bytes with digits and letters (upper and lower when `needsUpper`).
    private static func mixedCase(_ text: Bytes, _ range: Range<Int>, minimum: Int, needsUpper: Bool = true) -> Bool {
        guard range.count >= minimum else { return false }
        var upper = false, lower = false, digit = false
        for index in range {
            let byte = text[index]
            upper = upper || ASCII.isUpper(byte)
            lower = lower || ASCII.isLower(byte)
            digit = digit || ASCII.isDigit(byte)
        }
        return digit && lower && (upper || !needsUpper)
    }

    /// A JWT starting at `range.lowerBound`: header `.` payload `.` signature; its end.
    private static func jwt(_ text: Bytes, _ range: Range<Int>) -> Int? {
        var index = range.upperBound
        guard range.count >= 10, index < text.count, text[index] == UInt8(ascii: "."),
            ASCII.hasExactPrefix(text, at: index + 1, "eyJ")
        else { return nil }
        index += 1
        let payloadStart = index
        while index < text.count, isKeyByte(text[index]) { index += 1 }
        guard index - payloadStart >= 10, index < text.count, text[index] == UInt8(ascii: ".") else { return nil }
        index += 1
        while index < text.count, isKeyByte(text[index]) { index += 1 }
        return index
    }

    /// A PEM private key block starting at `start` (which holds `-----BEGIN `).
    private static func privateKey(_ text: Bytes, at start: Int) -> Range<Int>? {
        var index = start + 11
        let labelStart = index
        while index < text.count, index - labelStart < 40, ASCII.isUpper(text[index]) || text[index] == UInt8(ascii: " ") {
            index += 1
        }
        guard ASCII.hasExactPrefix(text, at: index, "-----"), index - labelStart >= 11,
            ASCII.hasExactPrefix(text, at: index - 11, "PRIVATE KEY") || ASCII.hasExactPrefix(text, at: index - 17, "PRIVATE KEY BLOCK")
        else { return nil }
        index += 5
        while index < text.count {
            if text[index] == UInt8(ascii: "-"), ASCII.hasExactPrefix(text, at: index, "-----END ") {
                index += 9
                while index < text.count, ASCII.isUpper(text[index]) || text[index] == UInt8(ascii: " ") { index += 1 }
                if ASCII.hasExactPrefix(text, at: index, "-----") { return start..<(index + 5) }
            }
            index += 1
        }
        return start..<text.count
    }
}
