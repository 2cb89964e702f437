import ScutumCore

/// `IBAN_CODE`: a two-letter country code with a known IBAN length, two check digits and the BBAN
/// (uppercase letters and digits), written solid or in groups of four separated by single spaces,
/// whose ISO 7064 mod-97 check gives 1. Lowercase IBANs are not matched.
struct IBANDetector: Detector {
    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        guard text.count >= 15 else { return }
        var index = 0
        while index + 4 <= text.count {
            defer { index += 1 }
            let first = text[index]
            guard ASCII.isUpper(first), ASCII.wordStarts(text, at: index), ASCII.isUpper(text[index + 1]),
                ASCII.isDigit(text[index + 2]), ASCII.isDigit(text[index + 3])
            else { continue }
            let length = Int(Self.lengths[Int(first &- 0x41) * 26 + Int(text[index + 1] &- 0x41)])
            guard length > 0, let end = Self.match(text, at: index, length: length) else { continue }
            findings.append(GuardrailFinding(scanner: .pii, rule: PIIEntity.ibanCode.rawValue, range: index..<end))
            index = end - 1
        }
    }

    /// The end of a valid IBAN of `length` characters at `start`, or nil.
    private static func match(_ text: Bytes, at start: Int, length: Int) -> Int? {
        var characters: [UInt8] = []
        characters.reserveCapacity(length)
        var index = start
        while characters.count < length, index < text.count {
            let byte = text[index]
            if ASCII.isDigit(byte) || ASCII.isUpper(byte) {
                characters.append(byte)
                index += 1
            } else if byte == UInt8(ascii: " "), characters.count % 4 == 0, index + 1 < text.count,
                ASCII.isAlnum(text[index + 1])
            {
                index += 1
            } else {
                return nil
            }
        }
        guard characters.count == length, ASCII.wordEnds(text, at: index) else { return nil }
        // Move the first four characters to the end; letters count as 10...35.
        var remainder = 0
        for offset in 0..<length {
            let byte = characters[(offset + 4) % length]
            if ASCII.isDigit(byte) {
                remainder = (remainder * 10 + ASCII.digit(byte)) % 97
            } else {
                remainder = (remainder * 100 + Int(byte - 0x41) + 10) % 97
            }
        }
        return remainder == 1 ? index : nil
    }

    /// IBAN length per country (ISO 13616 registry), indexed by (first letter, second letter).
    private static let lengths: [UInt8] = {
        let table: [(String, UInt8)] = [
            ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16), ("BG", 22),
            ("BH", 22), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28), ("CZ", 24), ("DE", 22),
            ("DK", 18), ("DO", 28), ("EE", 20), ("EG", 29), ("ES", 24), ("FI", 18), ("FO", 18), ("FR", 27),
            ("GB", 22), ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27), ("GT", 28), ("HR", 21), ("HU", 28),
            ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27), ("JO", 30), ("KW", 30), ("KZ", 20),
            ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20), ("LV", 21), ("LY", 25), ("MC", 27),
            ("MD", 24), ("ME", 22), ("MK", 19), ("MR", 27), ("MT", 31), ("MU", 30), ("NL", 18), ("NO", 15),
            ("PK", 24), ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("SA", 24),
            ("SC", 31), ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27), ("ST", 25), ("SV", 28),
            ("TL", 23), ("TN", 24), ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20),
        ]
        var lengths = [UInt8](repeating: 0, count: 26 * 26)
        for (country, length) in table {
            let bytes = Array(country.utf8)
            lengths[Int(bytes[0] - 0x41) * 26 + Int(bytes[1] - 0x41)] = length
        }
        return lengths
    }()
}
