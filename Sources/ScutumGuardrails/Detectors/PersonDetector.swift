import ScutumCore

/// `PERSON`, a heuristic and off unless listed in `pii_entities`: one to three capitalized words
/// (`Smith`, `O'Brien`, `Smith-Jones`, `Müller`) right after an honorific (`Mr`, `Mrs`, `Ms`, `Miss`,
/// `Mx`, `Dr`, `Prof`, `Sir`, `Madam`, `Rev`, with or without a dot) or after "my name is". Only the
/// name is the finding, so masking keeps the honorific: `Dr. <PERSON>`. Names written any other way are
/// not found; there is no dictionary or model behind this.
struct PersonDetector: Detector {
    private static let honorifics: [StaticString] = [
        "Mrs", "Mr", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Madam", "Rev",
    ]

    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        var index = 0
        while index < text.count {
            let byte = text[index]
            guard ASCII.isLetter(byte), ASCII.wordStarts(text, at: index) else {
                index += 1
                continue
            }
            var nameStart: Int?
            if ASCII.isUpper(byte) {
                for honorific in Self.honorifics where ASCII.hasExactPrefix(text, at: index, honorific) {
                    var after = index + honorific.utf8CodeUnitCount
                    guard ASCII.wordEnds(text, at: after) else { continue }
                    if after < text.count, text[after] == UInt8(ascii: ".") { after += 1 }
                    nameStart = after
                    break
                }
            }
            if nameStart == nil, ASCII.hasPrefix(text, at: index, "my name is"), ASCII.wordEnds(text, at: index + 10) {
                nameStart = index + 10
            }
            guard var cursor = nameStart, cursor < text.count, text[cursor] == UInt8(ascii: " ") else {
                index += 1
                while index < text.count, ASCII.isWord(text[index]) { index += 1 }
                continue
            }
            cursor += 1
            var end: Int?
            var words = 0
            while words < 3, let wordEnd = Self.capitalizedWord(text, at: cursor) {
                words += 1
                end = wordEnd
                guard wordEnd + 1 < text.count, text[wordEnd] == UInt8(ascii: " ") else { break }
                cursor = wordEnd + 1
            }
            if let end {
                let start = nameStart! + 1
                findings.append(GuardrailFinding(scanner: .pii, rule: PIIEntity.person.rawValue, range: start..<end, riskScore: 0.6))
                index = end
            } else {
                index = nameStart!
            }
        }
    }

    /// The end of a capitalized name word at `start`: an uppercase letter, then lowercase or non-ASCII
    /// letters, optionally joined by `-` or `'` to another capitalized part.
    private static func capitalizedWord(_ text: Bytes, at start: Int) -> Int? {
        var index = start
        while true {
            guard index < text.count, ASCII.isUpper(text[index]) else { return nil }
            index += 1
            let lowerStart = index
            while index < text.count, ASCII.isLower(text[index]) || text[index] >= 0x80 { index += 1 }
            // "O'Brien": a single capital before the apostrophe is fine.
            let joined = index + 1 < text.count && (text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "'"))
                && ASCII.isUpper(text[index + 1])
            if joined {
                index += 1
                continue
            }
            guard index > lowerStart, ASCII.wordEnds(text, at: index) else { return nil }
            return index
        }
    }
}
