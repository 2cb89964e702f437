import Foundation
import ScutumCore
import Testing

/// The exact cost of a call in parts: cache reads and writes at their prices, reasoning apart where
/// priced, and long-context tiers chosen by the whole prompt.
@Suite("Cost in parts")
struct CostBreakdownTests {
    static let perMillion = 1e-6

    /// Claude Sonnet 4.5's prices: $3 / $15 per MTok; cache reads $0.30, 5-minute writes $3.75,
    /// 1-hour writes $6; above 200k prompt tokens $6 / $22.50, reads $0.60, writes $7.50.
    static let sonnet = ModelDeployment(name: "sonnet", provider: .anthropic, upstreamModel: "claude-sonnet-4-5",
        credentials: "anthropic", inputCostPerToken: 3 * perMillion, outputCostPerToken: 15 * perMillion,
        pricing: ModelPricing(cacheReadCostPerToken: 0.30 * perMillion, cacheWriteCostPerToken: 3.75 * perMillion,
            cacheWrite1hCostPerToken: 6 * perMillion,
            tiers: [ModelPricing.Tier(aboveTokens: 200_000, inputCostPerToken: 6 * perMillion,
                outputCostPerToken: 22.5 * perMillion, cacheReadCostPerToken: 0.60 * perMillion,
                cacheWriteCostPerToken: 7.5 * perMillion)]))

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    @Test("uncached input, cache reads, 5-minute and 1-hour writes and output each at their price; the total is their sum")
    func parts() {
        // 10,000 prompt tokens: 1,000 read, 2,000 written for 5 minutes, 3,000 for an hour, 4,000 plain.
        let usage = TokenUsage(promptTokens: 10_000, completionTokens: 500, cachedTokens: 1_000, cacheWriteTokens: 2_000,
            cacheWrite1hTokens: 3_000)
        let cost = Self.sonnet.costBreakdown(of: usage)
        #expect(Self.close(cost.input, 0.012))  // 4,000 x $3 / 1M
        #expect(Self.close(cost.cacheRead, 0.0003))  // 1,000 x $0.30 / 1M
        #expect(Self.close(cost.cacheWrite, 0.0255))  // 2,000 x $3.75 + 3,000 x $6, / 1M
        #expect(Self.close(cost.output, 0.0075))  // 500 x $15 / 1M
        #expect(Self.close(cost.total, 0.0453))
        #expect(Self.close(Self.sonnet.cost(of: usage), cost.total))
        #expect(cost.tierAboveTokens == nil)
    }

    @Test("the tier is chosen by the whole prompt, cache reads and writes included, and prices every token of the call")
    func tierByWholePrompt() {
        // 200,000 exactly is not above the threshold; one more is, though only 100,001 are plain input.
        let atThreshold = Self.sonnet.costBreakdown(of: TokenUsage(promptTokens: 200_000, completionTokens: 1_000,
            cachedTokens: 100_000))
        #expect(atThreshold.tierAboveTokens == nil)
        // 100,000 x $3 + 100,000 x $0.30 + 1,000 x $15, / 1M
        #expect(Self.close(atThreshold.total, 0.345))
        let above = Self.sonnet.costBreakdown(of: TokenUsage(promptTokens: 200_001, completionTokens: 1_000,
            cachedTokens: 100_000))
        #expect(above.tierAboveTokens == 200_000)
        #expect(Self.close(above.input, 0.600006))  // 100,001 x $6 / 1M
        #expect(Self.close(above.cacheRead, 0.06))  // 100,000 x $0.60 / 1M
        #expect(Self.close(above.output, 0.0225))  // 1,000 x $22.50 / 1M
    }

    @Test("a 1-hour write in a tier keeps its ratio to the 5-minute write (Claude: 2x against 1.25x of input)")
    func oneHourInTier() {
        let cost = Self.sonnet.costBreakdown(of: TokenUsage(promptTokens: 250_000, completionTokens: 0,
            cacheWrite1hTokens: 50_000))
        // $6 x 2 = $12 per MTok: 50,000 x $12 / 1M = $0.60.
        #expect(Self.close(cost.cacheWrite, 0.60))
        #expect(Self.close(cost.input, 1.2))  // 200,000 x $6 / 1M
    }

    @Test("reasoning tokens at their own price where set, else at the output price")
    func reasoning() {
        var deployment = ModelDeployment(name: "r", provider: .openai, upstreamModel: "r", credentials: "openai",
            inputCostPerToken: 1e-6, outputCostPerToken: 4e-6)
        let usage = TokenUsage(promptTokens: 100, completionTokens: 1_000, reasoningTokens: 600)
        #expect(Self.close(deployment.costBreakdown(of: usage).output, 0.004))  // 1,000 x $4 / 1M
        #expect(deployment.costBreakdown(of: usage).reasoning == 0)
        deployment.pricing.reasoningCostPerToken = 2e-6
        let apart = deployment.costBreakdown(of: usage)
        #expect(Self.close(apart.output, 0.0028))  // 400 x $4 + 600 x $2, / 1M
        #expect(Self.close(apart.reasoning, 0.0012))
        #expect(Self.close(apart.total, 0.0029))  // + 100 x $1 / 1M
    }

    @Test("without cache prices, reads and writes are billed as input: the old input x price + output x price")
    func noCachePrices() {
        let deployment = ModelDeployment(name: "plain", provider: .openai, upstreamModel: "plain", credentials: "openai",
            inputCostPerToken: 1e-6, outputCostPerToken: 2e-6)
        let usage = TokenUsage(promptTokens: 1_000, completionTokens: 100, cachedTokens: 400, cacheWriteTokens: 100)
        let cost = deployment.costBreakdown(of: usage)
        #expect(Self.close(cost.total, 0.0012))  // 1,000 x $1 + 100 x $2, / 1M
        #expect(Self.close(cost.input, 0.0005) && Self.close(cost.cacheRead, 0.0004))
    }

    @Test("counts that do not add up (more cached than prompt) never make a part negative")
    func inconsistentCounts() {
        let cost = Self.sonnet.costBreakdown(of: TokenUsage(promptTokens: 10, completionTokens: -5, cachedTokens: 50))
        #expect(cost.input == 0 && cost.output == 0)
        #expect(Self.close(cost.cacheRead, 0.000015))  // 50 x $0.30 / 1M
    }
}
