/// What the mock says: a few fixed answers the guide's examples expect, an echo otherwise.
enum CannedAnswers {
    static let poem = """
        Across the wire the requests fly,
        Each endpoint answers, swift and spry.
        A contract kept in JSON light,
        Status codes that tell it right.
        Through gateways keys and tokens stream,
        APIs stitch the builder's dream.
        """

    /// The answer to the last user message.
    static func answer(to prompt: String) -> String {
        let lower = prompt.lowercased()
        if lower.contains("capital of france") { return "The capital of France is Paris." }
        if lower.contains("poem") { return poem }
        return "This is a mock response to: " + String(prompt.prefix(200))
    }

    /// Splits text into stream tokens: each word with the whitespace that follows it, so the
    /// tokens concatenate back to the text exactly.
    static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var inWhitespace = false
        for character in text {
            if character.isWhitespace {
                inWhitespace = true
                current.append(character)
            } else {
                if inWhitespace {
                    tokens.append(current)
                    current = ""
                    inWhitespace = false
                }
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    /// A rough token count: words plus a small per-message overhead.
    static func countTokens(_ text: String) -> Int {
        text.split(whereSeparator: { $0.isWhitespace }).count
    }
}
