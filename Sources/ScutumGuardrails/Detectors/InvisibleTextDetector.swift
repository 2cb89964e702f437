import ScutumCore

/// Invisible characters that hide text from a human reviewer, each run of them one finding:
/// - `zero_width`: U+200B ZERO WIDTH SPACE, U+2060-2064 (word joiner, invisible operators), U+FEFF
///   (except as the first character), U+180E; U+200C/U+200D (ZWNJ/ZWJ) only between ASCII characters,
///   since emoji sequences and Indic/Persian scripts need them;
/// - `bidi_control`: U+202A-202E (embeddings, overrides) and U+2066-2069 (isolates), the "Trojan
///   Source" characters; U+200E/U+200F marks are left alone;
/// - `tag_character`: U+E0000-E007F (ASCII smuggling), except a flag sequence: tags right after U+1F3F4
///   ending in U+E007F.
struct InvisibleTextDetector: Detector {
    enum Kind: String {
        case zeroWidth = "zero_width", bidiControl = "bidi_control", tagCharacter = "tag_character"
    }

    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        var index = 0
        var open: (kind: Kind, start: Int, end: Int)?
        func close() {
            if let run = open {
                findings.append(GuardrailFinding(scanner: .invisibleText, rule: run.kind.rawValue, range: run.start..<run.end))
                open = nil
            }
        }
        while index < text.count {
            if open == nil {
                // Plain ASCII, eight bytes at a time: nothing invisible there.
                while index + 8 <= text.count,
                    UnsafeRawPointer(text.baseAddress! + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    index += 8
                }
                guard index < text.count else { break }
            }
            let byte = text[index]
            guard byte >= 0xE1 else {
                index += 1
                if open != nil, byte < 0x80 || byte >= 0xC0 { close() }
                continue
            }
            let (kind, length) = Self.classify(text, at: index)
            guard let kind else {
                close()
                index += max(length, 1)
                continue
            }
            if let run = open, run.kind == kind, run.end == index {
                open?.end = index + length
            } else {
                close()
                open = (kind, index, index + length)
            }
            index += length
        }
        close()
    }

    /// The kind of the character at `index` (nil when visible or exempt) and its UTF-8 length.
    static func classify(_ text: Bytes, at index: Int) -> (Kind?, Int) {
        let byte = text[index]
        let remaining = text.count - index
        if byte == 0xE2, remaining >= 3 {
            let second = text[index + 1], third = text[index + 2]
            if second == 0x80 {
                switch third {
                case 0x8B: return (.zeroWidth, 3)
                case 0x8C, 0x8D: return (betweenASCII(text, index, 3) ? .zeroWidth : nil, 3)
                case 0xAA...0xAE: return (.bidiControl, 3)
                default: return (nil, 3)
                }
            }
            if second == 0x81 {
                switch third {
                case 0xA0...0xA4: return (.zeroWidth, 3)
                case 0xA6...0xA9: return (.bidiControl, 3)
                default: return (nil, 3)
                }
            }
            return (nil, 3)
        }
        if byte == 0xEF, remaining >= 3, text[index + 1] == 0xBB, text[index + 2] == 0xBF {
            return (index == 0 ? nil : .zeroWidth, 3)
        }
        if byte == 0xE1, remaining >= 3, text[index + 1] == 0xA0, text[index + 2] == 0x8E { return (.zeroWidth, 3) }
        if byte == 0xF3, remaining >= 4, text[index + 1] == 0xA0, text[index + 2] == 0x80 || text[index + 2] == 0x81 {
            return (isFlagTag(text, at: index) ? nil : .tagCharacter, 4)
        }
        return (nil, byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 1)
    }

    /// Whether the ZWJ/ZWNJ at `index` has ASCII on both sides (text edges count as ASCII).
    private static func betweenASCII(_ text: Bytes, _ index: Int, _ length: Int) -> Bool {
        let before = index == 0 || text[index - 1] < 0x80
        let after = index + length >= text.count || text[index + length] < 0x80
        return before && after
    }

    /// Whether the tag character at `index` belongs to a flag: U+1F3F4 (F0 9F 8F B4), tags, U+E007F.
    private static func isFlagTag(_ text: Bytes, at index: Int) -> Bool {
        var start = index
        while start >= 4, text[start - 4] == 0xF3, text[start - 3] == 0xA0, start - index > -32 * 4 {
            start -= 4
        }
        guard start >= 4, text[start - 4] == 0xF0, text[start - 3] == 0x9F, text[start - 2] == 0x8F,
            text[start - 1] == 0xB4
        else { return false }
        var end = index
        while end + 4 <= text.count, text[end] == 0xF3, text[end + 1] == 0xA0, end - index < 32 * 4 {
            if text[end + 2] == 0x81, text[end + 3] == 0xBF { return true }
            end += 4
        }
        return false
    }
}
