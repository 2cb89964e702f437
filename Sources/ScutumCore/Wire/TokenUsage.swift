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
    /// `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`), and
    /// DeepSeek's `prompt_cache_hit_tokens` where `cached_tokens` is absent; nil when it is not an object.
    public init?(openAI usage: JSONValue) {
        guard usage.objectValue != nil else { return nil }
        let cached = usage["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? usage["prompt_cache_hit_tokens"]?.intValue
        self.init(promptTokens: Int(usage["prompt_tokens"]?.intValue ?? 0),
            completionTokens: Int(usage["completion_tokens"]?.intValue ?? 0),
            cachedTokens: cached.map(Int.init),
            reasoningTokens: usage["completion_tokens_details"]?["reasoning_tokens"]?.intValue.map(Int.init))
    }

    /// Reads the Responses API's `usage` object (`input_tokens`, `output_tokens`,
    /// `input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`); nil when it is
    /// not an object.
    public init?(responses usage: JSONValue) {
        guard usage.objectValue != nil else { return nil }
        self.init(promptTokens: Int(usage["input_tokens"]?.intValue ?? 0),
            completionTokens: Int(usage["output_tokens"]?.intValue ?? 0),
            cachedTokens: usage["input_tokens_details"]?["cached_tokens"]?.intValue.map(Int.init),
            reasoningTokens: usage["output_tokens_details"]?["reasoning_tokens"]?.intValue.map(Int.init))
    }

    /// Prompt tokens written to the provider's cache, 5-minute and 1-hour writes together; nil when
    /// the provider said nothing of writes.
    public var cacheWrites: Int? {
        if cacheWriteTokens == nil && cacheWrite1hTokens == nil { return nil }
        return (cacheWriteTokens ?? 0) + (cacheWrite1hTokens ?? 0)
    }

    /// Takes the counts a later report gives (a stream's closing usage over its opening one): the
    /// completion always, the prompt when it is non-zero, and each detail it states.
    public mutating func update(with later: TokenUsage) {
        completionTokens = later.completionTokens
        if later.promptTokens > 0 { promptTokens = later.promptTokens }
        if let value = later.cachedTokens { cachedTokens = value }
        if let value = later.cacheWriteTokens { cacheWriteTokens = value }
        if let value = later.cacheWrite1hTokens { cacheWrite1hTokens = value }
        if let value = later.reasoningTokens { reasoningTokens = value }
    }
}
