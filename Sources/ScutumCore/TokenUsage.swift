/// Token counts of one call, as providers report them.
public struct TokenUsage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Prompt tokens served from the provider's cache, when it says.
    public var cachedTokens: Int?

    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
    }

    /// OpenAI's `usage` object.
    public struct Wire: Codable, Sendable {
        public var prompt_tokens: Int?
        public var completion_tokens: Int?
        public var total_tokens: Int?
        public var prompt_tokens_details: Details?

        public struct Details: Codable, Sendable {
            public var cached_tokens: Int?
        }

        public var usage: TokenUsage {
            TokenUsage(promptTokens: prompt_tokens ?? 0, completionTokens: completion_tokens ?? 0,
                cachedTokens: prompt_tokens_details?.cached_tokens)
        }
    }
}
