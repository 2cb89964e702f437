import ScutumCore

/// The `prompt_injection` scanner: a heuristic score in 0...1 from weighted signals, compared with the
/// profile's threshold. Signals (each counted once; the score is 1 - product(1 - weight), a noisy OR):
/// - phrases (`InjectionPhrases`), matched word by word on text normalized to lower case with
///   "leetspeak-lite" (`0→o 1→i 3→e 4→a 5→s 7→t @→a $→s` inside words), any punctuation or spacing
///   between words, and up to three filler words where a phrase allows them ("ignore *all of the*
///   previous instructions");
/// - `role_override`: a line that starts (after `#`, `*`, `>`, `[`, `<`, `|`, `-`, `=` and spaces) with
///   `system:`/`system]`/`system>`/`<<SYS>>`/`[INST]`: 0.5, or 0.75 when markup precedes it (`### system:`);
/// - `chat_template_token`: `<|im_start|>`, `<|endoftext|>` or any `<|name|>`: 0.8;
/// - `hidden_unicode`: invisible or bidi characters (see `InvisibleTextDetector`): 0.5, tag characters 0.9.
/// When the score reaches the threshold, each signal found is a finding (at its first occurrence)
/// whose risk score is the text's score; below it there are no findings.
struct PromptInjectionDetector: Detector {
    var threshold: Double

    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        let signals = Self.signals(in: text)
        let score = Self.score(signals)
        // A hair of tolerance: 1 - (1 - 0.7) is not exactly 0.7 in binary floating point.
        guard score >= threshold - 1e-9 else { return }
        for signal in signals {
            findings.append(
                GuardrailFinding(scanner: .promptInjection, rule: signal.rule, range: signal.range, riskScore: score))
        }
    }

    struct Signal {
        var rule: String
        var weight: Double
        var range: Range<Int>
    }

    static func score(_ signals: [Signal]) -> Double {
        1 - signals.reduce(1.0) { $0 * (1 - $1.weight) }
    }

    /// Every signal in `text`, the first occurrence of each rule.
    static func signals(in text: Bytes) -> [Signal] {
        var signals: [Signal] = []
        func add(_ rule: String, _ weight: Double, _ range: Range<Int>) {
            if let existing = signals.firstIndex(where: { $0.rule == rule }) {
                if signals[existing].weight < weight { signals[existing].weight = weight }
            } else {
                signals.append(Signal(rule: rule, weight: weight, range: range))
            }
        }
        InjectionPhrases.shared.match(text) { phrase, range in add(phrase.rule, phrase.weight, range) }
        markers(in: text, add)
        var hidden: [GuardrailFinding] = []
        InvisibleTextDetector().detect(in: text, into: &hidden)
        if let first = hidden.first {
            let smuggling = hidden.contains { $0.rule == InvisibleTextDetector.Kind.tagCharacter.rawValue }
            add("hidden_unicode", smuggling ? 0.9 : 0.5, first.range)
        }
        return signals.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    /// Role-override lines and chat-template tokens.
    private static func markers(in text: Bytes, _ add: (String, Double, Range<Int>) -> Void) {
        var index = 0
        var lineStart = true
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: "<"), index + 1 < text.count, text[index + 1] == UInt8(ascii: "|"),
                let end = templateToken(text, at: index)
            {
                add("chat_template_token", 0.8, index..<end)
                index = end
                lineStart = false
                continue
            }
            if lineStart {
                var cursor = index
                var markup = false
                while cursor < text.count, cursor - index < 16 {
                    let byte = text[cursor]
                    if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "*") {
                        cursor += 1
                    } else if byte == UInt8(ascii: "#") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "[")
                        || byte == UInt8(ascii: "<") || byte == UInt8(ascii: "|") || byte == UInt8(ascii: "-")
                        || byte == UInt8(ascii: "=")
                    {
                        markup = true
                        cursor += 1
                    } else {
                        break
                    }
                }
                if let end = roleMarker(text, at: cursor) {
                    add("role_override", markup ? 0.75 : 0.5, index..<end)
                }
                lineStart = false
            }
            if byte == UInt8(ascii: "\n") { lineStart = true }
            index += 1
        }
    }

    private static func roleMarker(_ text: Bytes, at index: Int) -> Int? {
        if ASCII.hasPrefix(text, at: index, "sys>>") { return index + 5 }
        if ASCII.hasPrefix(text, at: index, "inst]") { return index + 5 }
        guard ASCII.hasPrefix(text, at: index, "system") else { return nil }
        var cursor = index + 6
        while cursor < text.count, text[cursor] == UInt8(ascii: " ") { cursor += 1 }
        guard cursor < text.count else { return nil }
        let byte = text[cursor]
        return byte == UInt8(ascii: ":") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: ">")
            || byte == UInt8(ascii: "|") ? cursor + 1 : nil
    }

    /// `<|name|>` with 1-30 letters, digits or `_` inside.
    private static func templateToken(_ text: Bytes, at index: Int) -> Int? {
        var cursor = index + 2
        while cursor < text.count, cursor - index < 33, ASCII.isAlnum(text[cursor]) || text[cursor] == UInt8(ascii: "_") {
            cursor += 1
        }
        guard cursor > index + 2, cursor + 1 < text.count, text[cursor] == UInt8(ascii: "|"),
            text[cursor + 1] == UInt8(ascii: ">")
        else { return nil }
        return cursor + 2
    }
}
