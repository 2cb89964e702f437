/// Token counts of one call, as providers report them.
///
/// `promptTokens` counts every prompt token, OpenAI's way: those read from the provider's cache
/// (`cachedTokens`) and those written to it (`cacheWriteTokens`, `cacheWrite1hTokens`) are parts of
/// it, not additions (Anthropic reports them apart; its adapters add them in). Likewise
/// `reasoningTokens` are part of `completionTokens`.
public struct TokenUsage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Prompt tokens served from the provider's cache, when it says.
    public var cachedTokens: Int?
    /// Prompt tokens written to the provider's cache (Anthropic's 5-minute cache, the default), when it says.
    public var cacheWriteTokens: Int?
    /// Prompt tokens written to Anthropic's 1-hour cache, when it says.
    public var cacheWrite1hTokens: Int?
    /// Completion tokens spent reasoning, when the provider says.
    public var reasoningTokens: Int?

    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int? = nil, cacheWriteTokens: Int? = nil,
        cacheWrite1hTokens: Int? = nil, reasoningTokens: Int? = nil)
    {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.cacheWrite1hTokens = cacheWrite1hTokens
        self.reasoningTokens = reasoningTokens
    }

    /// Reads OpenAI's `usage` object (`prompt_tokens`, `completion_tokens`,
    /// `prompt_tokens_details.cached_tokens`); nil when it is not an object.
    public init?(openAI usage: JSONValue) {
        guard usage.objectValue != nil else { return nil }
        self.init(promptTokens: Int(usage["prompt_tokens"]?.intValue ?? 0),
            completionTokens: Int(usage["completion_tokens"]?.intValue ?? 0),
            cachedTokens: usage["prompt_tokens_details"]?["cached_tokens"]?.intValue.map(Int.init))
    }
}
