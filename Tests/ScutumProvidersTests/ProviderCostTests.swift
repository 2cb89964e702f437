import Foundation
import NIOCore
import ScutumCore
import Testing

@testable import ScutumProviders

/// For each provider, a usage block in the provider's own shape, read by its adapter and priced
/// with the shipped catalog (`config/models.yaml`), against the price page's own arithmetic.
@Suite("Cost of recorded usage, per provider")
struct ProviderCostTests {
    /// The shipped catalog's deployment named `name`.
    static func shipped(_ name: String) throws -> ModelDeployment {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/models.yaml").path
        let catalog = try CatalogFile.parse(try String(contentsOfFile: path, encoding: .utf8))
            .catalog(environment: [:], supportedKinds: Set(ProviderKind.allCases))
        return try #require(catalog.deployments.first { $0.name == name }, "no \(name) in config/models.yaml")
    }

    static func json(_ text: String) throws -> JSONValue {
        try #require(JSONValue.parse(ByteBuffer(string: text)))
    }

    /// Equal to the cent, and closer than a millionth of a cent (floating point, not rounding).
    static func expectCost(_ cost: Double, _ expected: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect((cost * 100).rounded() == (expected * 100).rounded(), "\(cost) vs \(expected)", sourceLocation: sourceLocation)
        #expect(abs(cost - expected) < 1e-8, "\(cost) vs \(expected)", sourceLocation: sourceLocation)
    }

    @Test("Anthropic: cache reads, 5-minute and 1-hour writes (usage.cache_creation) on Claude Sonnet 4.5")
    func anthropic() throws {
        let usage = try #require(AnthropicResponse.usage(try Self.json("""
            {"input_tokens":2095,"cache_creation_input_tokens":30000,"cache_read_input_tokens":100000,
             "cache_creation":{"ephemeral_5m_input_tokens":10000,"ephemeral_1h_input_tokens":20000},
             "output_tokens":503,"service_tier":"standard"}
            """)))
        #expect(usage.promptTokens == 132_095 && usage.cachedTokens == 100_000)
        #expect(usage.cacheWriteTokens == 10_000 && usage.cacheWrite1hTokens == 20_000)
        let cost = try Self.shipped("claude-sonnet-4.5").costBreakdown(of: usage)
        // Anthropic's page: base input $3/MTok, 5m writes $3.75, 1h writes $6, hits $0.30, output $15.
        // 2,095 x 3 = $0.006285; 10,000 x 3.75 = $0.0375; 20,000 x 6 = $0.12; 100,000 x 0.30 = $0.03;
        // 503 x 15 = $0.007545 (all / 1M). Total $0.20133.
        Self.expectCost(cost.input, 0.006285)
        Self.expectCost(cost.cacheWrite, 0.1575)
        Self.expectCost(cost.cacheRead, 0.03)
        Self.expectCost(cost.output, 0.007545)
        Self.expectCost(cost.total, 0.20133)
    }

    @Test("Anthropic: long context above 200k input tokens (cache reads and writes counted) bills the whole call at $6 / $22.50")
    func anthropicLongContext() throws {
        let usage = try #require(AnthropicResponse.usage(try Self.json("""
            {"input_tokens":150000,"cache_creation_input_tokens":10000,"cache_read_input_tokens":60000,"output_tokens":2000}
            """)))
        let cost = try Self.shipped("claude-sonnet-4.5").costBreakdown(of: usage)
        // 220,000 input tokens > 200k: 150,000 x $6 = $0.90; 10,000 x $7.50 (1.25 x $6) = $0.075;
        // 60,000 x $0.60 (0.1 x $6) = $0.036; 2,000 x $22.50 = $0.045 (all / 1M). Total $1.056.
        #expect(cost.tierAboveTokens == 200_000)
        Self.expectCost(cost.total, 1.056)
        Self.expectCost(cost.output, 0.045)
    }

    @Test("Bedrock Converse: cacheReadInputTokens, cacheWriteInputTokens and a 1-hour write in cacheDetails")
    func bedrock() throws {
        let usage = try #require(BedrockConverseResponse.usage(try Self.json("""
            {"inputTokens":20,"outputTokens":300,"totalTokens":5320,"cacheReadInputTokens":4000,
             "cacheWriteInputTokens":1000,"cacheDetails":[{"ttl":"1h","inputTokens":1000}]}
            """)))
        #expect(usage.promptTokens == 5_020 && usage.cacheWrite1hTokens == 1_000 && usage.cacheWriteTokens == 0)
        let cost = try Self.shipped("bedrock-claude-sonnet-4.5").costBreakdown(of: usage)
        // Bedrock's Claude Sonnet 4.5: input $3/MTok, cache read $0.30, 1h cache write $6, output $15.
        // 20 x 3 = $0.00006; 4,000 x 0.30 = $0.0012; 1,000 x 6 = $0.006; 300 x 15 = $0.0045. Total $0.01176.
        Self.expectCost(cost.total, 0.01176)
        Self.expectCost(cost.cacheWrite, 0.006)
    }

    @Test("OpenAI chat: cached_tokens at the cached-input price; reasoning_tokens are output tokens")
    func openAIChat() throws {
        let usage = try #require(TokenUsage(openAI: try Self.json("""
            {"prompt_tokens":12000,"completion_tokens":3000,"total_tokens":15000,
             "prompt_tokens_details":{"cached_tokens":8000,"audio_tokens":0},
             "completion_tokens_details":{"reasoning_tokens":2048,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}
            """)))
        #expect(usage.cachedTokens == 8_000 && usage.reasoningTokens == 2_048)
        let cost = try Self.shipped("gpt-5").costBreakdown(of: usage)
        // GPT-5: input $1.25/MTok, cached input $0.125, output $10 (reasoning billed as output).
        // 4,000 x 1.25 = $0.005; 8,000 x 0.125 = $0.001; 3,000 x 10 = $0.03. Total $0.036.
        Self.expectCost(cost.total, 0.036)
        Self.expectCost(cost.cacheRead, 0.001)
    }

    @Test("OpenAI Responses: input_tokens_details.cached_tokens and output_tokens_details.reasoning_tokens")
    func openAIResponses() throws {
        let usage = try #require(OpenAICompatibleAdapter.responsesUsage(try Self.json("""
            {"input_tokens":100000,"input_tokens_details":{"cached_tokens":90000},"output_tokens":5000,
             "output_tokens_details":{"reasoning_tokens":4000},"total_tokens":105000}
            """)))
        #expect(usage.cachedTokens == 90_000 && usage.reasoningTokens == 4_000)
        let cost = try Self.shipped("gpt-5-mini").costBreakdown(of: usage)
        // GPT-5 mini: input $0.25/MTok, cached $0.025, output $2.
        // 10,000 x 0.25 = $0.0025; 90,000 x 0.025 = $0.00225; 5,000 x 2 = $0.01. Total $0.01475.
        Self.expectCost(cost.total, 0.01475)
    }

    @Test("Gemini 2.5 Pro: cachedContentTokenCount and thoughtsTokenCount, at and above 200k prompt tokens")
    func gemini25Pro() throws {
        let deployment = try Self.shipped("gemini-2.5-pro")
        let small = try #require(GeminiResponse.usage(try Self.json("""
            {"promptTokenCount":150000,"candidatesTokenCount":1000,"thoughtsTokenCount":3000,
             "cachedContentTokenCount":100000,"totalTokenCount":154000}
            """)))
        #expect(small.completionTokens == 4_000 && small.reasoningTokens == 3_000 && small.cachedTokens == 100_000)
        // Prompts <= 200k: input $1.25/MTok, caching $0.125, output (thinking included) $10.
        // 50,000 x 1.25 = $0.0625; 100,000 x 0.125 = $0.0125; 4,000 x 10 = $0.04. Total $0.115.
        Self.expectCost(deployment.cost(of: small), 0.115)
        let large = try #require(GeminiResponse.usage(try Self.json("""
            {"promptTokenCount":250000,"candidatesTokenCount":2000,"thoughtsTokenCount":6000,
             "cachedContentTokenCount":200000,"totalTokenCount":258000}
            """)))
        // Prompts > 200k: input $2.50, caching $0.25, output $15.
        // 50,000 x 2.50 = $0.125; 200,000 x 0.25 = $0.05; 8,000 x 15 = $0.12. Total $0.295.
        Self.expectCost(deployment.cost(of: large), 0.295)
    }

    @Test("Gemini 3 Pro: the long-context tier at $4 / $18")
    func gemini3Pro() throws {
        let usage = try #require(GeminiResponse.usage(try Self.json("""
            {"promptTokenCount":300000,"candidatesTokenCount":10000,"totalTokenCount":310000}
            """)))
        // 300,000 x $4 = $1.20; 10,000 x $18 = $0.18 (per 1M). Total $1.38.
        Self.expectCost(try Self.shipped("gemini-3-pro").cost(of: usage), 1.38)
    }

    @Test("DeepSeek: prompt_cache_hit_tokens at the cache-hit price")
    func deepSeek() throws {
        let usage = try #require(TokenUsage(openAI: try Self.json("""
            {"prompt_tokens":1500000,"completion_tokens":500000,"total_tokens":2000000,
             "prompt_cache_hit_tokens":1000000,"prompt_cache_miss_tokens":500000}
            """)))
        #expect(usage.cachedTokens == 1_000_000)
        // deepseek-chat: cache hit $0.07/MTok, cache miss $0.27, output $1.10.
        // 1M x 0.07 = $0.07; 0.5M x 0.27 = $0.135; 0.5M x 1.10 = $0.55. Total $0.755.
        Self.expectCost(try Self.shipped("deepseek-v3").cost(of: usage), 0.755)
    }

    @Test("a stream's closing usage (message_delta) keeps the opening one's cache counts it does not restate")
    func streamedUsage() throws {
        var usage = try #require(AnthropicResponse.usage(try Self.json("""
            {"input_tokens":10,"cache_creation_input_tokens":2000,"cache_read_input_tokens":0,
             "cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":2000},"output_tokens":1}
            """)))
        usage.update(with: try #require(AnthropicResponse.usage(try Self.json(#"{"output_tokens":42}"#))))
        #expect(usage == TokenUsage(promptTokens: 2_010, completionTokens: 42, cachedTokens: 0, cacheWriteTokens: 0,
            cacheWrite1hTokens: 2_000))
    }
}
