import ScutumCore

/// `IP_ADDRESS`: dotted-quad IPv4 (octets 0-255, no leading zeros) and IPv6 (eight groups, or `::`
/// compression with at least two groups, `::1`, and a trailing IPv4 part). Near misses it leaves:
/// times (`12:30:45`), MAC addresses (`00:1A:2B:3C:4D:5E`), version strings with a number above 255
/// and anything glued to letters.
struct IPAddressDetector: Detector {
    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        var index = 0
        while index < text.count {
            let byte = text[index]
            let startsToken = index == 0 || !(ASCII.isAlnum(text[index - 1]) || text[index - 1] == UInt8(ascii: ".")
                || text[index - 1] == UInt8(ascii: ":") || text[index - 1] == UInt8(ascii: "_"))
            guard startsToken, ASCII.isHex(byte) || byte == UInt8(ascii: ":") else {
                index += 1
                continue
            }
            if let end = Self.ipv6(text, at: index) ?? (ASCII.isDigit(byte) ? Self.ipv4(text, at: index) : nil) {
                findings.append(GuardrailFinding(scanner: .pii, rule: PIIEntity.ipAddress.rawValue, range: index..<end))
                index = end
            } else {
                index += 1
                while index < text.count, ASCII.isAlnum(text[index]) { index += 1 }
            }
        }
    }

    /// The end of a dotted quad at `start`, or nil.
    static func ipv4(_ text: Bytes, at start: Int, requireBoundary: Bool = true) -> Int? {
        var index = start
        for octet in 0..<4 {
            if octet > 0 {
                guard index < text.count, text[index] == UInt8(ascii: ".") else { return nil }
                index += 1
            }
            let octetStart = index
            var value = 0
            while index < text.count, ASCII.isDigit(text[index]), index - octetStart < 3 {
                value = value * 10 + ASCII.digit(text[index])
                index += 1
            }
            let length = index - octetStart
            guard length > 0, value <= 255, length == 1 || text[octetStart] != UInt8(ascii: "0") else { return nil }
        }
        if requireBoundary, index < text.count {
            let after = text[index]
            if ASCII.isAlnum(after) || after == UInt8(ascii: "_") || after >= 0x80 { return nil }
            if after == UInt8(ascii: "."), index + 1 < text.count, ASCII.isDigit(text[index + 1]) { return nil }
        }
        return index
    }

    /// The end of an IPv6 address at `start`, or nil.
    static func ipv6(_ text: Bytes, at start: Int) -> Int? {
        var index = start
        var groups = 0
        var compressed = false
        if text[index] == UInt8(ascii: ":") {
            guard index + 1 < text.count, text[index + 1] == UInt8(ascii: ":") else { return nil }
            compressed = true
            index += 2
        }
        while index < text.count, index - start <= 45, ASCII.isHex(text[index]) {
            let groupStart = index
            while index < text.count, ASCII.isHex(text[index]), index - groupStart < 5 { index += 1 }
            if index + 1 < text.count, text[index] == UInt8(ascii: "."), ASCII.isDigit(text[index + 1]) {
                // A trailing IPv4 part counts as two groups.
                guard groups <= 6, let end = ipv4(text, at: groupStart, requireBoundary: false) else { return nil }
                groups += 2
                index = end
                break
            }
            guard index - groupStart <= 4 else { return nil }
            groups += 1
            guard groups <= 8 else { return nil }
            guard index + 1 < text.count, text[index] == UInt8(ascii: ":") else { break }
            if text[index + 1] == UInt8(ascii: ":") {
                guard !compressed else { return nil }
                compressed = true
                index += 2
            } else if ASCII.isHex(text[index + 1]) {
                index += 1
            } else {
                break
            }
        }
        if index < text.count {
            let after = text[index]
            if ASCII.isAlnum(after) || after == UInt8(ascii: "_") || after >= 0x80 { return nil }
        }
        if compressed {
            guard groups < 8 else { return nil }
            // Only the loopback `::1` is common enough to count with a single group.
            if groups < 2, !(index - start == 3 && text[start] == UInt8(ascii: ":") && text[start + 2] == UInt8(ascii: "1")) {
                return nil
            }
        } else {
            guard groups == 8 else { return nil }
        }
        return index
    }
}
