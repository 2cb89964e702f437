import Foundation
import NIOHTTP1
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

/// Anthropic's Messages API on the proxy: translated onto chat for every model, with keys (as
/// `x-api-key`), limits, spend and Anthropic's error JSON.
@Suite("Anthropic Messages API")
struct MessagesTests {
    static func body(model: String = "gpt-test", _ content: String, stream: Bool = false, extra: String = "") -> String {
        let escaped = String(decoding: try! JSONEncoder().encode(content), as: UTF8.self)
        return #"{"model":"\#(model)","max_tokens":256,"messages":[{"role":"user","content":\#(escaped)}]"#
            + (stream ? #","stream":true"# : "") + extra + "}"
    }

    /// The events of an Anthropic stream: (event name, data object).
    static func events(_ body: String) throws -> [(String, [String: Any])] {
        try body.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { frame in
            let lines = frame.components(separatedBy: "\n")
            let name = String(lines.first { $0.hasPrefix("event: ") }?.dropFirst(7) ?? "")
            let data = String(lines.first { $0.hasPrefix("data: ") }?.dropFirst(6) ?? "")
            let object = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] ?? [:]
            return (name, object)
        }
    }

    @Test("a message with a key as x-api-key, against an OpenAI and an Anthropic model: Anthropic's message shape, a spend row")
    func message() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "claude-code")
            for model in ["gpt-test", "claude-test"] {
                let result = try await gateway.request("/v1/messages", key: nil, body: Self.body(model: model, "Say hello"),
                    headers: [("x-api-key", key), ("anthropic-version", "2023-06-01")])
                #expect(result.status == 200, "\(result.body)")
                let message = try result.json
                #expect(message["type"] as? String == "message" && message["role"] as? String == "assistant")
                #expect(message["model"] as? String == model)
                #expect((message["id"] as? String)?.hasPrefix("msg_") == true)
                let content = try #require(message["content"] as? [[String: Any]])
                #expect(content.first?["type"] as? String == "text")
                #expect(((content.first?["text"] as? String) ?? "").isEmpty == false)
                #expect(message["stop_reason"] as? String == "end_turn")
                let usage = try #require(message["usage"] as? [String: Any])
                #expect((usage["input_tokens"] as? Int ?? 0) > 0 && (usage["output_tokens"] as? Int ?? 0) > 0)
            }
            let logs = try await gateway.spendLogs(keyID: record.keyID, count: 2)
            #expect(Set(logs?.map(\.modelRequested) ?? []) == ["gpt-test", "claude-test"])
            #expect(logs?.allSatisfy { $0.status == 200 && $0.promptTokens > 0 && $0.completionTokens > 0 } == true)
        }
    }

    @Test("a stream: message_start, a text block of deltas, message_delta with usage, message_stop; the same text as the JSON answer")
    func stream() async throws {
        try await Gateway.with { gateway in
            let whole = try await gateway.request("/v1/messages", body: Self.body("Tell me about streams"))
            let expected = try #require((try whole.json["content"] as? [[String: Any]])?.first?["text"] as? String)
            let result = try await gateway.request("/v1/messages", body: Self.body("Tell me about streams", stream: true))
            #expect(result.status == 200)
            #expect(result.headers.contains { $0.0.lowercased() == "content-type" && $0.1.hasPrefix("text/event-stream") })
            let events = try Self.events(result.body)
            let names = events.map(\.0)
            #expect(names.first == "message_start")
            #expect(names.suffix(3) == ["content_block_stop", "message_delta", "message_stop"])
            #expect(names.filter { $0 == "content_block_start" }.count == 1)
            #expect(events.allSatisfy { $0.0 == $0.1["type"] as? String })
            let text = events.filter { $0.0 == "content_block_delta" }
                .compactMap { ($0.1["delta"] as? [String: Any])?["text"] as? String }.joined()
            #expect(text == expected)
            let delta = try #require(events.first { $0.0 == "message_delta" }?.1)
            #expect((delta["delta"] as? [String: Any])?["stop_reason"] as? String == "end_turn")
            #expect(((delta["usage"] as? [String: Any])?["output_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test("tools: a tool_use block with its input (JSON and streamed as input_json_delta), then a tool_result answered")
    func tools() async throws {
        try await Gateway.with { gateway in
            let tools = #","tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]"#
            let result = try await gateway.request("/v1/messages", body: Self.body("Weather in Paris? [mock:tool_call]", extra: tools))
            #expect(result.status == 200, "\(result.body)")
            let message = try result.json
            #expect(message["stop_reason"] as? String == "tool_use")
            let use = try #require((message["content"] as? [[String: Any]])?.first { $0["type"] as? String == "tool_use" })
            #expect(use["name"] as? String == "get_weather")
            #expect(use["input"] is [String: Any])
            let id = try #require(use["id"] as? String)

            let streamed = try await gateway.request("/v1/messages",
                body: Self.body("Weather in Paris? [mock:tool_call]", stream: true, extra: tools))
            let events = try Self.events(streamed.body)
            let start = try #require(events.first { $0.0 == "content_block_start" }?.1["content_block"] as? [String: Any])
            #expect(start["type"] as? String == "tool_use" && start["name"] as? String == "get_weather")
            let json = events.compactMap { ($0.1["delta"] as? [String: Any])?["partial_json"] as? String }.joined()
            #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8))) is [String: Any], "\(json)")
            #expect((events.first { $0.0 == "message_delta" }?.1["delta"] as? [String: Any])?["stop_reason"] as? String == "tool_use")

            let inputJSON = String(decoding: try JSONSerialization.data(withJSONObject: use["input"] ?? [:]), as: UTF8.self)
            // The history goes on to Claude (through the Anthropic adapter), whose mock answers tool results.
            let followUp = #"{"model":"claude-test","max_tokens":100,"#
                + #""messages":[{"role":"user","content":"Weather in Paris?"},"#
                + #"{"role":"assistant","content":[{"type":"tool_use","id":"\#(id)","name":"get_weather","input":\#(inputJSON)}]},"#
                + #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"\#(id)","content":"18 C and sunny"}]}]"#
                + tools + "}"
            // A tool result may carry a screenshot: its text answers the call, the image follows.
            let withImage = followUp.replacingOccurrences(of: #""content":"18 C and sunny""#, with: #""content":[{"type":"text","text":"18 C and sunny"},"#
                + #"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]"#)
            #expect(withImage != followUp)
            let imaged = try await gateway.request("/v1/messages", body: withImage)
            #expect(imaged.status == 200, "\(imaged.body)")
            #expect(((try imaged.json["content"] as? [[String: Any]])?.first?["text"] as? String)?.contains("18 C and sunny") == true)
            let answered = try await gateway.request("/v1/messages", body: followUp)
            #expect(answered.status == 200, "\(answered.body)")
            let text = (try answered.json["content"] as? [[String: Any]])?.first?["text"] as? String
            #expect(text?.contains("18 C and sunny") == true, "\(answered.body)")
        }
    }

    @Test("every error in Anthropic's shape: bad bodies, no key, unknown model, rate limited with retry-after; then served")
    func errors() async throws {
        try await Gateway.with { gateway in
            func expectError(_ result: HTTPResult, _ status: Int, _ type: String) throws {
                #expect(result.status == status, "\(result.body)")
                let json = try result.json
                #expect(json["type"] as? String == "error", "\(result.body)")
                let error = json["error"] as? [String: Any]
                #expect(error?["type"] as? String == type, "\(result.body)")
                #expect(((error?["message"] as? String) ?? "").isEmpty == false)
            }
            try expectError(try await gateway.request("/v1/messages",
                body: #"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}"#), 400, "invalid_request_error")
            try expectError(try await gateway.request("/v1/messages", body: "{not json"), 400, "invalid_request_error")
            try expectError(try await gateway.request("/v1/messages", body: #"{"model":"gpt-test","max_tokens":10,"#
                + #""messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"x"}}]}]}"#),
                400, "invalid_request_error")
            try expectError(try await gateway.request("/v1/messages", body: #"{"model":"gpt-test","max_tokens":10,"#
                + #""messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}"#),
                400, "invalid_request_error")
            // A max_tokens near Int64.max (which once overflowed the token estimate) is refused, on both doors.
            try expectError(try await gateway.request("/v1/messages", body: #"{"model":"gpt-test","max_tokens":9223372036854775807,"#
                + #""messages":[{"role":"user","content":"hi"}]}"#), 400, "invalid_request_error")
            let chatHuge = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("hi", extra: #","max_tokens":9223372036854775807"#))
            #expect(chatHuge.status == 400, "\(chatHuge.body)")
            try expectError(try await gateway.request("/v1/messages", body: #"{"model":"gpt-test","max_tokens":10,"#
                + #""messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":[1]}]}]}"#),
                400, "invalid_request_error")
            try expectError(try await gateway.request("/v1/messages", key: nil, body: Self.body("hi")), 401, "authentication_error")
            try expectError(try await gateway.request("/v1/messages", key: "sk-not-a-key", body: Self.body("hi")),
                401, "authentication_error")
            try expectError(try await gateway.request("/v1/messages", body: Self.body(model: "no-such-model", "hi")),
                404, "not_found_error")
            try expectError(try await gateway.request("/v1/messages/count_tokens",
                body: #"{"model":"no-such-model","messages":[]}"#), 404, "not_found_error")

            let (key, _) = try await gateway.keys.create(alias: "limited", settings: KeySettings(rpmLimit: 2))
            for _ in 0..<2 {
                #expect(try await gateway.request("/v1/messages", key: key, body: Self.body("hi")).status == 200)
            }
            let limited = try await gateway.request("/v1/messages", key: key, body: Self.body("hi"))
            try expectError(limited, 429, "rate_limit_error")
            #expect(limited.headers.contains { $0.0.lowercased() == "retry-after" })
            // The chat endpoint keeps OpenAI's shape.
            let chat = try await gateway.request("/v1/chat/completions", body: #"{"model":"gpt-test"}"#)
            #expect((try chat.json["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
            // And the next normal request is served.
            #expect(try await gateway.request("/v1/messages", body: Self.body("hi")).status == 200)
        }
    }

    @Test("a fallback serves the message when the primary fails; a spent budget is a 400 in Anthropic's shape before any provider call; then served")
    func fallbackAndBudget() async throws {
        try await Gateway.with { gateway in
            let served = try await gateway.request("/v1/messages",
                body: Self.body(model: "primary-test", "[mock:status=503] [mock:fail_model=primary-upstream] hi"))
            #expect(served.status == 200, "\(served.body)")
            #expect(try served.json["model"] as? String == "primary-test")
            #expect(gateway.mockLog.last?.bodyString().contains("gpt-upstream-2") == true)

            let (key, record) = try await gateway.keys.create(alias: "budgeted")
            _ = try await BudgetStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
                .upsert(.key(record.keyID), maxBudget: 0.00002, softBudget: nil, duration: BudgetDuration(parsing: "30d"))
            var refused: HTTPResult?
            for _ in 0..<40 {
                let result = try await gateway.request("/v1/messages", key: key, body: Self.body("Write a short poem."))
                if result.status != 200 { refused = result; break }
                await gateway.node.spend.flush()
            }
            let error = try #require(try refused?.json["error"] as? [String: Any])
            #expect(refused?.status == 400 && error["type"] as? String == "invalid_request_error")
            #expect((error["message"] as? String)?.contains("Budget exceeded") == true, "\(error)")
            gateway.mockLog.clear()
            #expect(try await gateway.request("/v1/messages", key: key, body: Self.body("hi", stream: true)).status == 400)
            #expect(gateway.mockLog.entries.isEmpty, "the provider was called despite the budget")
            #expect(try await gateway.request("/v1/messages", body: Self.body("hi")).status == 200)
        }
    }

    @Test("count_tokens: Claude's own count for a model Anthropic serves, the gateway's estimate for others; nothing charged")
    func countTokens() async throws {
        try await Gateway.with { gateway in
            let small = try await gateway.request("/v1/messages/count_tokens",
                body: #"{"model":"claude-test","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(small.status == 200, "\(small.body)")
            let few = try #require(try small.json["input_tokens"] as? Int)
            let long = String(repeating: "word ", count: 400)
            let large = try await gateway.request("/v1/messages/count_tokens",
                body: #"{"model":"claude-test","system":"You help.","messages":[{"role":"user","content":"\#(long)"}]}"#)
            let many = try #require(try large.json["input_tokens"] as? Int)
            #expect(few > 0 && many > few + 350)
            // Claude served by Anthropic directly: Anthropic's own count (its count_tokens, without max_tokens).
            let sent = try #require(gateway.mockLog.last)
            #expect(sent.uri.hasSuffix("/v1/messages/count_tokens") && !sent.bodyString().contains("max_tokens"))
            let direct = try await Gateway.send(.POST, gateway.mockURL + "/v1/messages/count_tokens", key: nil,
                body: #"{"model":"claude-sonnet-4-5","system":"You help.","messages":[{"role":"user","content":"\#(long)"}]}"#,
                headers: [("x-api-key", "k"), ("anthropic-version", "2023-06-01")])
            #expect(try direct.json["input_tokens"] as? Int == many)
            // Another model: the gateway's estimate, no provider called.
            gateway.mockLog.clear()
            let estimated = try await gateway.request("/v1/messages/count_tokens",
                body: #"{"model":"gpt-test","messages":[{"role":"user","content":"\#(long)"}]}"#)
            let estimate = try estimated.json["input_tokens"] as? Int ?? 0
            #expect(estimated.status == 200 && estimate >= 400)
            #expect(gateway.mockLog.entries.isEmpty)
        }
    }
}
