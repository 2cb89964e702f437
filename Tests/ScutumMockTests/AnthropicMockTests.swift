import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumMock
import Testing

@Suite("Anthropic Messages")
struct AnthropicMockTests {
    static let question = #"{"role":"user","content":"What is the capital of France?"}"#
    static let weatherTool = #"{"name":"get_weather","description":"Weather now","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}"#

    func send(_ body: String, headers: HTTPFields = MockTest.anthropicHeaders, log: MockRequestLog? = nil,
        _ check: @escaping @Sendable (TestResponse) async throws -> Void) async throws
    {
        try await MockTest.app(log: log).test(.router) { client in
            try await client.execute(uri: "/v1/messages", method: .post, headers: headers, body: MockTest.body(body), testCallback: check)
        }
    }

    @Test("a non-streaming answer has Anthropic's message fields")
    func message() async throws {
        let log = MockRequestLog()
        try await send(#"{"model":"claude-sonnet-4-5","max_tokens":100,"system":"Be brief.","messages":[\#(Self.question)]}"#, log: log) { response in
            #expect(response.status == .ok)
            #expect(MockTest.header(response, "request-id")?.hasPrefix("req_") == true)
            let json = MockTest.json(response.body)
            #expect((json["id"] as? String)?.hasPrefix("msg_") == true)
            #expect(json["type"] as? String == "message")
            #expect(json["role"] as? String == "assistant")
            #expect(json["model"] as? String == "claude-sonnet-4-5")
            #expect(MockTest.at(json, "content", 0, "type") as? String == "text")
            #expect(MockTest.at(json, "content", 0, "text") as? String == "The capital of France is Paris.")
            #expect(json["stop_reason"] as? String == "end_turn")
            #expect(json["stop_sequence"] is NSNull)
            // "Be brief." + the question: 8 words, plus 3 for the one message.
            #expect(MockTest.at(json, "usage", "input_tokens") as? Int == 11)
            #expect(MockTest.at(json, "usage", "cache_creation_input_tokens") as? Int == 0)
            #expect(MockTest.at(json, "usage", "cache_read_input_tokens") as? Int == 0)
            #expect(MockTest.at(json, "usage", "output_tokens") as? Int == 6)
        }
        #expect(log.last?.uri == "/v1/messages")
        #expect(log.last?.headers.contains { $0.0 == "x-api-key" } == true)
    }

    @Test("max_tokens truncates with stop_reason max_tokens; stop_sequences cut with stop_sequence")
    func truncation() async throws {
        try await send(#"{"model":"m","max_tokens":3,"messages":[\#(Self.question)]}"#) { response in
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "content", 0, "text") as? String == "The capital of ")
            #expect(json["stop_reason"] as? String == "max_tokens")
            #expect(MockTest.at(json, "usage", "output_tokens") as? Int == 3)
        }
        try await send(#"{"model":"m","max_tokens":100,"stop_sequences":["Paris","zzz"],"messages":[\#(Self.question)]}"#) { response in
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "content", 0, "text") as? String == "The capital of France is ")
            #expect(json["stop_reason"] as? String == "stop_sequence")
            #expect(json["stop_sequence"] as? String == "Paris")
        }
    }

    @Test("a streamed answer is the documented event sequence, one text_delta per token")
    func stream() async throws {
        try await send(#"{"model":"m","max_tokens":100,"stream":true,"messages":[\#(Self.question)]}"#) { response in
            #expect(response.status == .ok)
            #expect(MockTest.header(response, "content-type")?.hasPrefix("text/event-stream") == true)
            let raw = MockTest.text(response.body)
            #expect(raw.hasPrefix("event: message_start\ndata: {"))
            let events = parseSSE(raw)
            let names = events.compactMap(\.event)
            #expect(names == ["message_start", "content_block_start", "ping"] + Array(repeating: "content_block_delta", count: 6)
                + ["content_block_stop", "message_delta", "message_stop"])
            for event in events { #expect(MockTest.json(event.data)["type"] as? String == event.event) }
            let start = MockTest.json(events[0].data)
            #expect(MockTest.at(start, "message", "content") as? [Any] != nil)
            #expect(MockTest.at(start, "message", "usage", "input_tokens") as? Int == 9)
            #expect(MockTest.at(start, "message", "usage", "output_tokens") as? Int == 1)
            let text = events.filter { $0.event == "content_block_delta" }
                .compactMap { MockTest.at(MockTest.json($0.data), "delta", "text") as? String }.joined()
            #expect(text == "The capital of France is Paris.")
            let delta = MockTest.json(events[events.count - 2].data)
            #expect(MockTest.at(delta, "delta", "stop_reason") as? String == "end_turn")
            #expect(MockTest.at(delta, "delta", "stop_sequence") is NSNull)
            #expect(MockTest.at(delta, "usage", "output_tokens") as? Int == 6)
        }
    }

    @Test("[mock:tool_call] calls the first tool, in JSON and streamed as input_json_delta pieces")
    func toolCall() async throws {
        let messages = #"[{"role":"user","content":"Weather in Paris? [mock:tool_call]"}]"#
        try await send(#"{"model":"m","max_tokens":100,"tools":[\#(Self.weatherTool)],"messages":\#(messages)}"#) { response in
            let json = MockTest.json(response.body)
            #expect(json["stop_reason"] as? String == "tool_use")
            #expect(MockTest.at(json, "content", 0, "type") as? String == "tool_use")
            #expect((MockTest.at(json, "content", 0, "id") as? String)?.hasPrefix("toolu_") == true)
            #expect(MockTest.at(json, "content", 0, "name") as? String == "get_weather")
            #expect(MockTest.at(json, "content", 0, "input", "location") as? String == "Paris")
        }
        try await send(#"{"model":"m","max_tokens":100,"stream":true,"tools":[\#(Self.weatherTool)],"messages":\#(messages)}"#) { response in
            let events = parseSSE(MockTest.text(response.body))
            let block = MockTest.json(events[1].data)
            #expect(MockTest.at(block, "content_block", "type") as? String == "tool_use")
            #expect(MockTest.at(block, "content_block", "name") as? String == "get_weather")
            let pieces = events.filter { $0.event == "content_block_delta" }.map { MockTest.json($0.data) }
            #expect(pieces.allSatisfy { MockTest.at($0, "delta", "type") as? String == "input_json_delta" })
            let partial = pieces.compactMap { MockTest.at($0, "delta", "partial_json") as? String }
            #expect(partial.filter { !$0.isEmpty }.count >= 2)
            #expect(MockTest.json(partial.joined())["location"] as? String == "Paris")
            #expect(MockTest.at(MockTest.json(events[events.count - 2].data), "delta", "stop_reason") as? String == "tool_use")
        }
    }

    @Test("a tool_result as the last message is answered with its text")
    func toolRoundTrip() async throws {
        let messages = #"[{"role":"user","content":"Weather in Paris? [mock:tool_call]"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"Sunny, 21 C"}]}]}]"#
        try await send(#"{"model":"m","max_tokens":100,"tools":[\#(Self.weatherTool)],"messages":\#(messages)}"#) { response in
            let json = MockTest.json(response.body)
            #expect(json["stop_reason"] as? String == "end_turn")
            #expect(MockTest.at(json, "content", 0, "text") as? String == "The tool said: Sunny, 21 C")
        }
    }

    @Test("[mock:status] answers with Anthropic's error JSON, request-id and retry-after")
    func statusErrors() async throws {
        try await send(#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi [mock:status=429] [mock:retry_after=7]"}]}"#) { response in
            #expect(response.status.code == 429)
            #expect(MockTest.header(response, "retry-after") == "7")
            let requestID = MockTest.header(response, "request-id")
            #expect(requestID?.hasPrefix("req_") == true)
            let json = MockTest.json(response.body)
            #expect(json["type"] as? String == "error")
            #expect(MockTest.at(json, "error", "type") as? String == "rate_limit_error")
            #expect(MockTest.at(json, "error", "message") is String)
            #expect(json["request_id"] as? String == requestID)
        }
        for (status, type) in [(529, "overloaded_error"), (500, "api_error"), (403, "permission_error"), (404, "not_found_error")] {
            try await send(#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi [mock:status=\#(status)]"}]}"#) { response in
                #expect(response.status.code == status)
                #expect(MockTest.at(MockTest.json(response.body), "error", "type") as? String == type)
            }
        }
    }

    @Test("requests the real API refuses are refused with invalid_request_error", arguments: [
        (#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#, "max_tokens: Field required"),
        (#"{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}]}"#, #"Unexpected role "system""#),
        (#"{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":"x"},{"role":"user","content":"hi"}]}"#, #"first message must use the "user" role"#),
        (#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}"#, "roles must alternate"),
        (#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_2","content":"x"}]}]}"#,
         "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_2"),
    ])
    func validation(body: String, message: String) async throws {
        try await send(body) { response in
            #expect(response.status == .badRequest)
            let json = MockTest.json(response.body)
            #expect(json["type"] as? String == "error")
            #expect(MockTest.at(json, "error", "type") as? String == "invalid_request_error")
            #expect((MockTest.at(json, "error", "message") as? String)?.contains(message) == true)
        }
    }

    @Test("x-api-key and anthropic-version are required")
    func authentication() async throws {
        let body = #"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#
        try await send(body, headers: [HTTPField.Name("anthropic-version")!: "2023-06-01"]) { response in
            #expect(response.status == .unauthorized)
            let json = MockTest.json(response.body)
            #expect(MockTest.at(json, "error", "type") as? String == "authentication_error")
            #expect(MockTest.at(json, "error", "message") as? String == "x-api-key header is required")
        }
        try await send(body, headers: [HTTPField.Name("x-api-key")!: "k"]) { response in
            #expect(response.status == .badRequest)
            #expect(MockTest.at(MockTest.json(response.body), "error", "type") as? String == "invalid_request_error")
        }
    }

    @Test("[mock:safety] refuses; [mock:cached=N] reports cache reads")
    func safetyAndCache() async throws {
        try await send(#"{"model":"m","max_tokens":50,"messages":[{"role":"user","content":"hi [mock:safety]"}]}"#) { response in
            let json = MockTest.json(response.body)
            #expect(json["stop_reason"] as? String == "refusal")
            #expect((json["content"] as? [Any])?.isEmpty == true)
        }
        try await send(#"{"model":"m","max_tokens":50,"messages":[{"role":"user","content":"one two three four [mock:cached=5]"}]}"#) { response in
            let usage = MockTest.json(response.body)["usage"]
            #expect(MockTest.at(usage, "cache_read_input_tokens") as? Int == 5)
            #expect(MockTest.at(usage, "input_tokens") as? Int == 2)
        }
    }

    @Test("[mock:stream_error] sends an error event after the first delta; [mock:malformed] a broken one")
    func streamFailures() async throws {
        try await send(#"{"model":"m","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"poem [mock:stream_error]"}]}"#) { response in
            let events = parseSSE(MockTest.text(response.body))
            #expect(events.compactMap(\.event) == ["message_start", "content_block_start", "ping", "content_block_delta", "error"])
            let error = MockTest.json(events[4].data)
            #expect(MockTest.at(error, "error", "type") as? String == "overloaded_error")
            #expect(MockTest.at(error, "error", "message") as? String == "Overloaded")
        }
        try await send(#"{"model":"m","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"poem [mock:malformed]"}]}"#) { response in
            let events = parseSSE(MockTest.text(response.body))
            let unparsable = events.filter { (try? JSONSerialization.jsonObject(with: Data($0.data.utf8))) == nil }
            #expect(unparsable.count == 1)
            #expect(events.last?.event == "message_stop")
        }
    }
}
