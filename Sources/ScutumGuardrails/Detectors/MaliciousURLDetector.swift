import ScutumCore

/// The `malicious_url` scanner. Rules:
/// - `dangerous_scheme`: `javascript:` or `vbscript:` directly followed by code (not a space);
/// - `data_url`: `data:` followed by a MIME type (`data:text/html,...`, `data:image/svg+xml;base64,...`);
/// - `file_url`: `file://`;
/// - for `http`, `https`, `ftp`, `ws`, `wss` URLs (`scheme://authority`):
///   `userinfo_in_url` (an `@` in the authority: `https://google.com@evil.example/`),
///   `ip_literal_host` (dotted, bracketed IPv6, decimal `http://3232235777/` or hex `0x7f.1` hosts,
///   loopback and private ranges included), `punycode_host` (a label starting `xn--`),
///   `non_ascii_host` (raw internationalized hosts, the homograph case punycode hides) and
///   `blocked_host` (the host or a parent domain is in the profile's `blocked_hosts`).
/// Only URLs with a scheme are looked at: a bare `evil.example/path` is not.
struct MaliciousURLDetector: Detector {
    /// Lowercased blocked hosts.
    let blockedHosts: Set<String>

    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        var index = ASCII.next(UInt8(ascii: ":"), in: text, from: 0)
        while index < text.count {
            defer { index = ASCII.next(UInt8(ascii: ":"), in: text, from: index + 1) }
            var start = index
            while start > 0, index - start < 12, ASCII.isLetter(text[start - 1]) { start -= 1 }
            guard start < index, ASCII.wordStarts(text, at: start) else { continue }
            if let (rule, end) = check(text, schemeStart: start, colon: index) {
                findings.append(GuardrailFinding(scanner: .maliciousURL, rule: rule, range: start..<end))
                index = end - 1
            }
        }
    }

    private func check(_ text: Bytes, schemeStart start: Int, colon: Int) -> (String, Int)? {
        let length = colon - start
        func scheme(_ name: StaticString) -> Bool {
            length == name.utf8CodeUnitCount && ASCII.hasPrefix(text, at: start, name)
        }
        let after = colon + 1
        if scheme("javascript") || scheme("vbscript") {
            guard after < text.count, !ASCII.isSpace(text[after]) else { return nil }
            return ("dangerous_scheme", Self.urlEnd(text, from: after))
        }
        if scheme("data") {
            var cursor = after
            while cursor < text.count, ASCII.isLetter(text[cursor]) { cursor += 1 }
            guard cursor > after, cursor + 1 < text.count, text[cursor] == UInt8(ascii: "/"),
                ASCII.isAlnum(text[cursor + 1])
            else { return nil }
            return ("data_url", Self.urlEnd(text, from: after))
        }
        guard ASCII.hasExactPrefix(text, at: after, "//") else { return nil }
        if scheme("file") { return ("file_url", Self.urlEnd(text, from: after)) }
        guard scheme("http") || scheme("https") || scheme("ftp") || scheme("ws") || scheme("wss") else { return nil }
        return authority(text, from: after + 2)
    }

    /// The end of a URL: the first whitespace, quote or angle bracket.
    private static func urlEnd(_ text: Bytes, from start: Int) -> Int {
        var end = start
        while end < text.count, end - start < 2048 {
            let byte = text[end]
            if ASCII.isSpace(byte) || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
                || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "`")
            {
                break
            }
            end += 1
        }
        return end
    }

    private func authority(_ text: Bytes, from start: Int) -> (String, Int)? {
        var end = start
        var at: Int?
        while end < text.count, end - start < 512 {
            let byte = text[end]
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#")
                || byte == UInt8(ascii: "\\") || ASCII.isSpace(byte) || byte == UInt8(ascii: "\"")
                || byte == UInt8(ascii: "'") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
                || byte == UInt8(ascii: "`") || byte == UInt8(ascii: ")")
            {
                break
            }
            if byte == UInt8(ascii: "@") { at = end }
            end += 1
        }
        guard end > start else { return nil }
        if at != nil { return ("userinfo_in_url", end) }
        var hostEnd = end
        if text[start] == UInt8(ascii: "[") { return ("ip_literal_host", end) }
        // Drop a port.
        var cursor = end
        while cursor > start, ASCII.isDigit(text[cursor - 1]) { cursor -= 1 }
        if cursor > start, cursor < end, text[cursor - 1] == UInt8(ascii: ":") { hostEnd = cursor - 1 }
        while hostEnd > start, text[hostEnd - 1] == UInt8(ascii: ".") { hostEnd -= 1 }
        guard hostEnd > start else { return nil }
        var numeric = true
        var nonASCII = false
        var labelStart = start
        var punycode = false
        for index in start..<hostEnd {
            let byte = text[index]
            if byte >= 0x80 { nonASCII = true }
            if !(ASCII.isDigit(byte) || byte == UInt8(ascii: ".")) { numeric = false }
            if index == labelStart, ASCII.hasPrefix(text, at: index, "xn--") { punycode = true }
            if byte == UInt8(ascii: ".") { labelStart = index + 1 }
        }
        if numeric || ASCII.hasPrefix(text, at: start, "0x") { return ("ip_literal_host", end) }
        if punycode { return ("punycode_host", end) }
        if nonASCII { return ("non_ascii_host", end) }
        if !blockedHosts.isEmpty, isBlocked(text, start..<hostEnd) { return ("blocked_host", end) }
        return nil
    }

    /// Whether the host or one of its parent domains is blocked.
    private func isBlocked(_ text: Bytes, _ host: Range<Int>) -> Bool {
        let name = String(decoding: host.map { ASCII.lower(text[$0]) }, as: UTF8.self)
        var suffix = Substring(name)
        while true {
            if blockedHosts.contains(String(suffix)) { return true }
            guard let dot = suffix.firstIndex(of: ".") else { return false }
            suffix = suffix[suffix.index(after: dot)...]
        }
    }
}
