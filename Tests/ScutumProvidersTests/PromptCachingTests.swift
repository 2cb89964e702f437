import NIOCore
import ScutumCore
import Testing

@testable import ScutumProviders

/// `cache_control` from OpenAI-format callers (LiteLLM's convention) carried to Anthropic as it is
/// and to Bedrock Converse as `cachePoint` blocks, and breakpoints placed automatically.
@Suite("Prompt caching in translation")
struct PromptCachingTests {
    /// Breakpoints on a tool (1-hour), on a system part, on a user part and on a whole assistant message.
    static let marked = "prompt-caching-request.json"
    /// What Anthropic gets for `marked`, byte for byte (the gateway writes keys sorted).
    static let anthropicBody = "prompt-caching-anthropic-body.json"

    /// A fixture's text, without its final newline (the node tests send the same files).
    static func fixture(_ name: String) throws -> String {
        let text = try String(contentsOf: TranslatorFixtureTests.fixtures.appendingPathComponent(name), encoding: .utf8)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    static func input(_ json: String, deployment: ModelDeployment? = nil) throws -> ChatInput {
        let request = try ChatCompletionRequest(json: try #require(JSONValue.parse(ByteBuffer(string: json))))
        if let deployment { return try ChatInput(request, for: deployment) }
        return try ChatInput(request)
    }

    @Test("Anthropic gets every cache_control where the caller put it, the system prompt as text blocks")
    func anthropic() throws {
        let body = try AnthropicRequest.body(try Self.input(try Self.fixture(Self.marked)), model: "claude-sonnet-4-5", maxOutputTokens: 64000)
        #expect(body.jsonString == (try Self.fixture(Self.anthropicBody)))
    }

    @Test("Vertex AI's Claude body carries the same breakpoints")
    func vertex() throws {
        let body = try AnthropicRequest.body(try Self.input(try Self.fixture(Self.marked)), model: nil, maxOutputTokens: 64000,
            vertexVersion: "vertex-2023-10-16")
        var expected = try #require(JSONValue.parse(ByteBuffer(string: try Self.fixture(Self.anthropicBody))))
        expected["model"] = nil
        expected["anthropic_version"] = "vertex-2023-10-16"
        #expect(body == expected)
    }

    @Test("without breakpoints the Anthropic body is as before: the system prompt one string")
    func unmarked() throws {
        let body = try AnthropicRequest.body(try Self.input("""
            {"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"A"},{"type":"text","text":"B"}]},
              {"role":"user","content":"hi"}]}
            """), model: "c", maxOutputTokens: nil)
        #expect(body["system"] == .string("A\nB"))
        #expect(!body.jsonString.contains("cache_control"))
    }

    @Test("Bedrock Converse gets a cachePoint right after each marked block and tool, with the TTL asked for")
    func bedrock() throws {
        let body = try BedrockConverseRequest.body(try Self.input(try Self.fixture(Self.marked)))
        #expect(body.jsonString == #"{"messages":[{"content":[{"text":"First question"},{"cachePoint":{"type":"default"}}],"role":"user"},{"content":[{"text":"An answer."},{"cachePoint":{"type":"default"}}],"role":"assistant"},{"content":[{"text":"Second question"}],"role":"user"}],"system":[{"text":"Be brief."},{"text":"Long document."},{"cachePoint":{"type":"default"}}],"toolConfig":{"tools":[{"toolSpec":{"inputSchema":{"json":{"type":"object"}},"name":"lookup"}},{"cachePoint":{"ttl":"1h","type":"default"}}]}}"#)
    }

    @Test("a breakpoint on a tool result message goes after its tool_result (Anthropic) or toolResult (Bedrock)")
    func toolResult() throws {
        let input = try Self.input("""
            {"model":"m","messages":[{"role":"user","content":"weather?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"sunny","cache_control":{"type":"ephemeral"}}]}]}
            """)
        let anthropic = try AnthropicRequest.body(input, model: "c", maxOutputTokens: nil)
        #expect(anthropic["messages"]?.arrayValue?.last?["content"]?.arrayValue?.last == [
            "type": "tool_result", "tool_use_id": "c1", "content": "sunny", "cache_control": ["type": "ephemeral"],
        ])
        let bedrock = try BedrockConverseRequest.body(input)
        #expect(bedrock["messages"]?.arrayValue?.last?["content"]?.arrayValue?.last == ["cachePoint": ["type": "default"]])
    }

    static func claude(_ model: String = "claude-sonnet-4-5", provider: ProviderKind = .anthropic, auto: Bool = true)
        -> ModelDeployment
    {
        ModelDeployment(name: "c", provider: provider, upstreamModel: model, autoCacheBreakpoints: auto)
    }

    /// A request with a system prompt and one tool of about `systemTokens` and `toolTokens` tokens.
    static func long(systemTokens: Int, toolTokens: Int, extra: String = "") -> String {
        let system = String(repeating: "abcd", count: systemTokens)
        let description = String(repeating: "wxyz", count: toolTokens)
        return """
            {"model":"m","messages":[{"role":"system","content":"\(system)"},{"role":"user","content":"hi"\(extra)}],
             "tools":[{"type":"function","function":{"name":"a","parameters":{"type":"object"}}},
                      {"type":"function","function":{"name":"b","description":"\(description)","parameters":{"type":"object"}}}]}
            """
    }

    @Test("cache_breakpoints: auto marks the last tool and the last system block when long enough (bytes / 4 >= 1024)")
    func automatic() throws {
        let input = try Self.input(Self.long(systemTokens: 600, toolTokens: 1100), deployment: Self.claude())
        #expect(input.cache.tools == [1: CacheMarks.ephemeral])
        #expect(input.cache.system.last?.mark == CacheMarks.ephemeral)
        let body = try AnthropicRequest.body(input, model: "c", maxOutputTokens: nil)
        #expect(body["tools"]?.arrayValue?.last?["cache_control"] == CacheMarks.ephemeral)
        #expect(body["tools"]?.arrayValue?.first?["cache_control"] == nil)
        #expect(body["system"]?.arrayValue?.last?["cache_control"] == CacheMarks.ephemeral)
        let bedrock = try BedrockConverseRequest.body(try Self.input(Self.long(systemTokens: 600, toolTokens: 1100),
            deployment: Self.claude("anthropic.claude-sonnet-4-5-20250929-v1:0", provider: .bedrock)))
        #expect(bedrock["toolConfig"]?["tools"]?.arrayValue?.count == 3)
        #expect(bedrock["system"]?.arrayValue?.last == ["cachePoint": ["type": "default"]])
    }

    @Test("short prompts, Haiku's larger minimum, a caller's own breakpoints, and cache_breakpoints: off place none")
    func automaticNotPlaced() throws {
        // Tools ~500 tokens, with the system ~1,100: only the system block's prefix is long enough.
        let systemOnly = try Self.input(Self.long(systemTokens: 600, toolTokens: 500), deployment: Self.claude())
        #expect(systemOnly.cache.tools.isEmpty && systemOnly.cache.system.last?.mark != nil)
        let short = try Self.input(Self.long(systemTokens: 100, toolTokens: 100), deployment: Self.claude())
        #expect(short.cache.count == 0)
        // Haiku caches from 2,048 tokens: tools ~1,100 are too few, tools and system ~2,100 enough.
        let haiku = try Self.input(Self.long(systemTokens: 1000, toolTokens: 1100), deployment: Self.claude("claude-haiku-4-5"))
        #expect(haiku.cache.tools.isEmpty && haiku.cache.count == 1)
        let own = try Self.input(Self.long(systemTokens: 600, toolTokens: 1100, extra: #","cache_control":{"type":"ephemeral"}"#),
            deployment: Self.claude())
        #expect(own.cache.count == 1 && own.cache.messages.count == 1)
        let off = try Self.input(Self.long(systemTokens: 600, toolTokens: 1100), deployment: Self.claude(auto: false))
        #expect(off.cache.count == 0)
        let notClaude = try Self.input(Self.long(systemTokens: 600, toolTokens: 1100),
            deployment: Self.claude("amazon.nova-pro-v1:0", provider: .bedrock))
        #expect(notClaude.cache.count == 0)
    }

    @Test("native Messages bodies get automatic breakpoints too (the system string becomes a marked block), unless they carry any")
    func automaticNative() throws {
        let system = String(repeating: "abcd", count: 1100)
        let json = #"{"model":"c","system":"\#(system)","messages":[{"role":"user","content":"hi"}]}"#
        var body = try #require(JSONValue.parse(ByteBuffer(string: json)))
        AutomaticBreakpoints.place(in: &body, for: Self.claude())
        #expect(body["system"] == [["type": "text", "text": .string(system), "cache_control": ["type": "ephemeral"]]])
        #expect(body["tools"] == nil)
        let own = #"{"model":"c","system":"\#(system)","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}"#
        let original = try #require(JSONValue.parse(ByteBuffer(string: own)))
        var untouched = original
        AutomaticBreakpoints.place(in: &untouched, for: Self.claude())
        #expect(untouched == original)
        var off = try #require(JSONValue.parse(ByteBuffer(string: json)))
        AutomaticBreakpoints.place(in: &off, for: Self.claude(auto: false))
        #expect(off["system"] == .string(system))
    }
}
