/// A deployment's prices beyond plain input and output tokens, USD per token: the provider's cache
/// reads and writes, reasoning tokens billed apart, and tiers that apply above a prompt size.
public struct ModelPricing: Sendable, Hashable {
    /// A price tier that applies to a whole call whose prompt exceeds `aboveTokens` (Gemini's and
    /// Claude's long-context prices). Nil fields keep the base price.
    public struct Tier: Sendable, Hashable {
        public var aboveTokens: Int
        public var inputCostPerToken: Double?
        public var outputCostPerToken: Double?
        public var cacheReadCostPerToken: Double?
        public var cacheWriteCostPerToken: Double?

        public init(aboveTokens: Int, inputCostPerToken: Double? = nil, outputCostPerToken: Double? = nil,
            cacheReadCostPerToken: Double? = nil, cacheWriteCostPerToken: Double? = nil)
        {
            self.aboveTokens = aboveTokens
            self.inputCostPerToken = inputCostPerToken
            self.outputCostPerToken = outputCostPerToken
            self.cacheReadCostPerToken = cacheReadCostPerToken
            self.cacheWriteCostPerToken = cacheWriteCostPerToken
        }
    }

    /// Prompt tokens read from the provider's cache; nil bills them as input.
    public var cacheReadCostPerToken: Double?
    /// Prompt tokens written to the cache (Anthropic's 5-minute writes); nil bills them as input.
    public var cacheWriteCostPerToken: Double?
    /// Prompt tokens written to Anthropic's 1-hour cache; nil bills them as 5-minute writes.
    public var cacheWrite1hCostPerToken: Double?
    /// Reasoning tokens, where a provider bills them apart; nil bills them as output.
    public var reasoningCostPerToken: Double?
    /// Long-context tiers, by ascending threshold.
    public var tiers: [Tier]

    public init(cacheReadCostPerToken: Double? = nil, cacheWriteCostPerToken: Double? = nil,
        cacheWrite1hCostPerToken: Double? = nil, reasoningCostPerToken: Double? = nil, tiers: [Tier] = [])
    {
        self.cacheReadCostPerToken = cacheReadCostPerToken
        self.cacheWriteCostPerToken = cacheWriteCostPerToken
        self.cacheWrite1hCostPerToken = cacheWrite1hCostPerToken
        self.reasoningCostPerToken = reasoningCostPerToken
        self.tiers = tiers.sorted { $0.aboveTokens < $1.aboveTokens }
    }
}
