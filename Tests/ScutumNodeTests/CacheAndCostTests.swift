import Foundation
import ScutumCore
import ScutumTestSupport
import Testing

/// Prompt caching carried through the gateway to the providers, cache and reasoning tokens
/// reported to clients, and spend rows with the cost in parts.
@Suite("Prompt caching and exact cost through the gateway")
struct CacheAndCostTests {
    /// The requests the mock received at `path`.
    static func received(_ gateway: Gateway, _ path: String) -> [String] {
        gateway.mockLog.entries.filter { $0.uri.hasPrefix(path) }.map { $0.bodyString() }
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    /// A prompt-caching sample shared with the translation tests, without its final newline.
    static func fixture(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ScutumProvidersTests/Fixtures/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    @Test("OpenAI-format cache_control reaches Anthropic byte for byte; usage reports the 1-hour write; the spend row has its parts and deployment")
    func anthropic() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "cache-anthropic")
            let body = try Self.fixture("prompt-caching-request.json")
            let result = try await gateway.request("/v1/chat/completions", key: key, body: body)
            #expect(result.status == 200, "\(result.body)")
            let sent = try #require(Self.received(gateway, "/v1/messages").last)
            #expect(sent == (try Self.fixture("prompt-caching-anthropic-body.json")))

            // The mock wrote all but 4 prompt tokens to the 1-hour cache (a breakpoint asked for 1h).
            let usage = try #require(try result.json["usage"] as? [String: Any])
            let prompt = try #require(usage["prompt_tokens"] as? Int)
            let completion = try #require(usage["completion_tokens"] as? Int)
            #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 0)

            let row = try #require(try await gateway.spendLogs(keyID: record.keyID, count: 1)?.first)
            #expect(row.promptTokens == prompt && row.cacheWriteTokens == prompt - 4 && row.cachedTokens == 0)
            #expect(row.deploymentID == "claude-priced")
            let parts = try #require(row.costParts)
            #expect(Self.close(parts.input, 4 * 3e-6))
            #expect(Self.close(parts.cacheWrite, Double(prompt - 4) * 6e-6))  // 1-hour writes: 2 x $3 per MTok
            #expect(Self.close(parts.output, Double(completion) * 15e-6))
            #expect(parts.cacheRead == 0)
            #expect(Self.close(row.cost, parts.input + parts.output + parts.cacheRead + parts.cacheWrite))
        }
    }

    @Test("the Anthropic front door reports cache reads and writes; cached tokens read are priced as reads")
    func messagesFrontDoor() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "cache-messages")
            let body = #"{"model":"claude-priced","max_tokens":100,"system":[{"type":"text","text":"Rules.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"[mock:cached=3000] hello"}]}"#
            let result = try await gateway.request("/v1/messages", key: key, body: body,
                headers: [("anthropic-version", "2023-06-01")])
            #expect(result.status == 200, "\(result.body)")
            #expect(try #require(Self.received(gateway, "/v1/messages").last).contains(
                #""system":[{"cache_control":{"type":"ephemeral"},"text":"Rules.","type":"text"}]"#))
            let usage = try #require(try result.json["usage"] as? [String: Any])
            #expect(usage["cache_read_input_tokens"] as? Int == 3000)
            let written = try #require(usage["cache_creation_input_tokens"] as? Int)
            let input = try #require(usage["input_tokens"] as? Int)
            let row = try #require(try await gateway.spendLogs(keyID: record.keyID, count: 1)?.first)
            #expect(row.cachedTokens == 3000 && row.cacheWriteTokens == written)
            #expect(row.promptTokens == input + written + 3000)
            let parts = try #require(row.costParts)
            #expect(Self.close(parts.cacheRead, 3000 * 0.3e-6))
            #expect(Self.close(parts.cacheWrite, Double(written) * 3.75e-6))
            #expect(Self.close(parts.input, Double(input) * 3e-6))
        }
    }

    @Test("Bedrock gets cachePoint blocks for the caller's marks, and automatic ones on a long system prompt; cache writes come back")
    func bedrock() async throws {
        try await Gateway.with { gateway in
            let marked = #"{"model":"bedrock-claude","messages":[{"role":"system","content":[{"type":"text","text":"Rules.","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":"hello"}]}"#
            let result = try await gateway.request("/v1/chat/completions", body: marked)
            #expect(result.status == 200, "\(result.body)")
            let sent = try #require(Self.received(gateway, "/model/").last)
            #expect(sent.contains(#""system":[{"text":"Rules."},{"cachePoint":{"type":"default"}}]"#), "\(sent)")
            let usage = try #require(try result.json["usage"] as? [String: Any])
            #expect((usage["prompt_tokens"] as? Int ?? 0) > 4)

            // cache_breakpoints: auto, a system prompt of ~1,500 tokens and no marks of the caller's.
            let long = String(repeating: "rule ", count: 1200)
            let auto = #"{"model":"bedrock-claude-auto","messages":[{"role":"system","content":"\#(long)"},{"role":"user","content":"hello"}]}"#
            let answered = try await gateway.request("/v1/chat/completions", body: auto)
            #expect(answered.status == 200, "\(answered.body)")
            let autoSent = try #require(Self.received(gateway, "/model/").last)
            #expect(autoSent.contains(#"},{"cachePoint":{"type":"default"}}]"#), "\(autoSent.prefix(200))")
            let short = #"{"model":"bedrock-claude-auto","messages":[{"role":"system","content":"Rules."},{"role":"user","content":"hello"}]}"#
            #expect(try await gateway.request("/v1/chat/completions", body: short).status == 200)
            #expect(try #require(Self.received(gateway, "/model/").last).contains("cachePoint") == false)
        }
    }

    @Test("prompt_cache_key reaches OpenAI unchanged (chat and Responses); cached and reasoning tokens come back and are recorded")
    func openAI() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "cache-openai")
            let chat = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat("[mock:cached=64] [mock:reasoning=7] hello", extra: #","prompt_cache_key":"tenant-42""#))
            #expect(chat.status == 200, "\(chat.body)")
            #expect(try #require(Self.received(gateway, "/v1/chat/completions").last).contains(#""prompt_cache_key":"tenant-42""#))
            let usage = try #require(try chat.json["usage"] as? [String: Any])
            #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 64)
            #expect((usage["completion_tokens_details"] as? [String: Any])?["reasoning_tokens"] as? Int == 7)

            let azure = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "azure-chat", "hello", extra: #","prompt_cache_key":"tenant-42""#))
            #expect(azure.status == 200, "\(azure.body)")
            #expect(try #require(Self.received(gateway, "/openai/deployments/").last).contains(#""prompt_cache_key":"tenant-42""#))

            let responses = try await gateway.request("/v1/responses", key: key,
                body: #"{"model":"gpt-test","input":"[mock:reasoning=3] hello","prompt_cache_key":"tenant-42"}"#)
            #expect(responses.status == 200, "\(responses.body)")
            #expect(try #require(Self.received(gateway, "/v1/responses").last).contains(#""prompt_cache_key":"tenant-42""#))
            let responseUsage = try #require(try responses.json["usage"] as? [String: Any])
            #expect((responseUsage["output_tokens_details"] as? [String: Any])?["reasoning_tokens"] as? Int == 3)

            let rows = try #require(try await gateway.spendLogs(keyID: record.keyID, count: 2))
            let chatRow = try #require(rows.first { $0.endpoint == FrontDoor.chat })
            #expect(chatRow.cachedTokens == 64 && chatRow.reasoningTokens == 7 && chatRow.deploymentID == "gpt-test")
            // gpt-test has no cached-input price: cached tokens are billed as input.
            let parts = try #require(chatRow.costParts)
            #expect(Self.close(parts.cacheRead, 64 * 1e-6))
            #expect(Self.close(parts.input + parts.cacheRead, Double(chatRow.promptTokens) * 1e-6))
            #expect(rows.contains { $0.endpoint == FrontDoor.responses && $0.reasoningTokens == 3 })
        }
    }

    @Test("Gemini's thoughtsTokenCount and cachedContentTokenCount reach the client as OpenAI's details")
    func gemini() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "gemini-test", "[mock:cached=40] [mock:reasoning=5] hello"))
            #expect(result.status == 200, "\(result.body)")
            let usage = try #require(try result.json["usage"] as? [String: Any])
            #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 40)
            #expect((usage["completion_tokens_details"] as? [String: Any])?["reasoning_tokens"] as? Int == 5)
        }
    }
}
