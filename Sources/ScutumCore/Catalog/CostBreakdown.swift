/// The cost of one call in parts, USD, computed as providers bill it.
///
/// - The price tier is chosen by the whole prompt (`promptTokens`, cache reads and writes included)
///   and applies to every token of the call: Gemini's and Claude's long-context prices.
/// - Input billed at the input price is the prompt less cache reads and cache writes.
/// - Cache reads and writes are billed at their own prices where the deployment has them, else as
///   input; 1-hour writes at their own price, else as 5-minute writes.
/// - Completion tokens are billed at the output price, except reasoning tokens where the deployment
///   prices them apart.
public struct CostBreakdown: Sendable, Hashable {
    /// Uncached prompt tokens.
    public var input: Double
    /// Completion tokens, reasoning included.
    public var output: Double
    /// Prompt tokens read from the provider's cache.
    public var cacheRead: Double
    /// Prompt tokens written to the provider's cache (5-minute and 1-hour writes together).
    public var cacheWrite: Double
    /// The part of `output` spent on reasoning tokens.
    public var reasoning: Double
    /// The threshold of the long-context tier applied, or nil for base prices.
    public var tierAboveTokens: Int?

    /// The cost of the call: input, output, cache reads and cache writes.
    public var total: Double { input + output + cacheRead + cacheWrite }

    public init(input: Double = 0, output: Double = 0, cacheRead: Double = 0, cacheWrite: Double = 0,
        reasoning: Double = 0, tierAboveTokens: Int? = nil)
    {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
        self.reasoning = reasoning
        self.tierAboveTokens = tierAboveTokens
    }

    /// Prices `usage` with a deployment's base input and output prices and its further `pricing`.
    public init(usage: TokenUsage, inputCostPerToken: Double, outputCostPerToken: Double, pricing: ModelPricing) {
        let prompt = max(0, usage.promptTokens)
        let tier = pricing.tiers.last { prompt > $0.aboveTokens }
        let inputPrice = tier?.inputCostPerToken ?? inputCostPerToken
        let outputPrice = tier?.outputCostPerToken ?? outputCostPerToken
        let readPrice = tier?.cacheReadCostPerToken ?? pricing.cacheReadCostPerToken ?? inputPrice
        let writePrice = tier?.cacheWriteCostPerToken ?? pricing.cacheWriteCostPerToken ?? inputPrice
        let write1hPrice = Self.oneHourWritePrice(pricing: pricing, tier: tier, writePrice: writePrice)

        let read = max(0, usage.cachedTokens ?? 0)
        let written5m = max(0, usage.cacheWriteTokens ?? 0)
        let written1h = max(0, usage.cacheWrite1hTokens ?? 0)
        let uncached = max(0, prompt - read - written5m - written1h)
        let completion = max(0, usage.completionTokens)
        let reasoningTokens = pricing.reasoningCostPerToken == nil ? 0 : min(completion, max(0, usage.reasoningTokens ?? 0))
        let reasoningCost = Double(reasoningTokens) * (pricing.reasoningCostPerToken ?? 0)

        self.init(input: Double(uncached) * inputPrice,
            output: Double(completion - reasoningTokens) * outputPrice + reasoningCost,
            cacheRead: Double(read) * readPrice,
            cacheWrite: Double(written5m) * writePrice + Double(written1h) * write1hPrice,
            reasoning: reasoningCost, tierAboveTokens: tier?.aboveTokens)
    }

    /// A 1-hour write's price: the deployment's own, scaled like the 5-minute write when a tier
    /// changes that (Claude's long-context writes keep the 2x : 1.25x ratio); else a 5-minute write's.
    private static func oneHourWritePrice(pricing: ModelPricing, tier: ModelPricing.Tier?, writePrice: Double) -> Double {
        guard let base1h = pricing.cacheWrite1hCostPerToken else { return writePrice }
        guard let tierWrite = tier?.cacheWriteCostPerToken, let base5m = pricing.cacheWriteCostPerToken, base5m > 0 else {
            return base1h
        }
        return base1h * tierWrite / base5m
    }
}

extension ModelDeployment {
    /// The cost of a call with this usage, in parts, at this deployment's prices.
    public func costBreakdown(of usage: TokenUsage) -> CostBreakdown {
        CostBreakdown(usage: usage, inputCostPerToken: inputCostPerToken, outputCostPerToken: outputCostPerToken,
            pricing: pricing)
    }
}
