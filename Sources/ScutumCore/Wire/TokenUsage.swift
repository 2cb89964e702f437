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

    /// Reads OpenAI's `usage` object (`prompt_tokens`, `completion_tokens`,
    /// `prompt_tokens_details.cached_tokens`); nil when it is not an object.
    public init?(openAI usage: JSONValue) {
        guard usage.objectValue != nil else { return nil }
        self.init(promptTokens: Int(usage["prompt_tokens"]?.intValue ?? 0),
            completionTokens: Int(usage["completion_tokens"]?.intValue ?? 0),
            cachedTokens: usage["prompt_tokens_details"]?["cached_tokens"]?.intValue.map(Int.init))
    }
}
