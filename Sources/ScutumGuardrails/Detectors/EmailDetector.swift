import ScutumCore

/// `EMAIL_ADDRESS`: `local@domain.tld` where the local part is letters, digits and `._%+-` (at most 64
/// bytes, no leading/trailing dot) and the domain has at least two labels of letters, digits and `-`
/// ending in an alphabetic TLD of two or more letters. Internationalized addresses (non-ASCII in the
/// local part or domain) are not matched.
///
/// Not emails here, on purpose: decorators and handles with no dotted domain (`@Test`, `a@b`,
/// `user@localhost`), URL userinfo (`https://user@host.com`, `ssh://git@github.com/...`: the local
/// part follows `:` or `/`; `mailto:` is the exception), scp-style git remotes
/// (`git@github.com:org/repo.git`: the domain is followed by `:` and a path) and retina image names
/// (`icon@2x.png`: the TLD is an image extension).
struct EmailDetector: Detector {
    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        var index = ASCII.next(UInt8(ascii: "@"), in: text, from: 0)
        while index < text.count {
            defer { index = ASCII.next(UInt8(ascii: "@"), in: text, from: index + 1) }
            guard let range = email(around: index, in: text) else { continue }
            findings.append(GuardrailFinding(scanner: .pii, rule: PIIEntity.emailAddress.rawValue, range: range))
            index = range.upperBound - 1
        }
    }

    @inline(__always) static func isLocal(_ byte: UInt8) -> Bool {
        ASCII.isAlnum(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "%")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
    }

    private func email(around at: Int, in text: Bytes) -> Range<Int>? {
        var start = at
        while start > 0, at - start < 64, Self.isLocal(text[start - 1]) { start -= 1 }
        guard start < at, text[start] != UInt8(ascii: "."), text[at - 1] != UInt8(ascii: ".") else { return nil }
        if start > 0 {
            let before = text[start - 1]
            if Self.isLocal(before) || before >= 0x80 { return nil }
            if before == UInt8(ascii: "/") || before == UInt8(ascii: "@") { return nil }
            if before == UInt8(ascii: ":") && !ASCII.hasPrefix(text, at: start - 7, "mailto:") { return nil }
        }
        // Domain labels.
        var end = at + 1
        var labelStart = end
        var labels = 0
        var tldLetters = true
        var tldStart = end
        while end < text.count, end - at <= 255 {
            let byte = text[end]
            if ASCII.isAlnum(byte) || byte == UInt8(ascii: "-") {
                end += 1
            } else if byte == UInt8(ascii: "."), end > labelStart, end + 1 < text.count, ASCII.isAlnum(text[end + 1]) {
                guard text[labelStart] != UInt8(ascii: "-"), text[end - 1] != UInt8(ascii: "-") else { return nil }
                labels += 1
                end += 1
                labelStart = end
            } else {
                break
            }
        }
        guard labels >= 1, end > labelStart, end - labelStart >= 2 else { return nil }
        tldStart = labelStart
        for offset in tldStart..<end where !ASCII.isLetter(text[offset]) { tldLetters = false }
        guard tldLetters else { return nil }
        if end < text.count {
            let after = text[end]
            if after == UInt8(ascii: "@") || after == UInt8(ascii: "_") || after >= 0x80 { return nil }
            if after == UInt8(ascii: ":"), end + 1 < text.count, !ASCII.isSpace(text[end + 1]) { return nil }
        }
        for extensionName in Self.imageExtensions where Self.equalsLowercase(text, tldStart..<end, extensionName) {
            return nil
        }
        return start..<end
    }

    private static let imageExtensions: [StaticString] = ["png", "jpg", "jpeg", "gif", "svg", "webp"]

    private static func equalsLowercase(_ text: Bytes, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        range.count == literal.utf8CodeUnitCount && ASCII.hasPrefix(text, at: range.lowerBound, literal)
    }
}
