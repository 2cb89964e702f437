import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumMock
import Testing

@Suite("OpenAI (unchanged)")
struct OpenAIMockTests {
    @Test("chat completions answer as before; tool calls carry {\"location\":\"Paris\"}")
    func chatCompletions() async throws {
        let headers: HTTPFields = [.authorization: "Bearer sk-test", .contentType: "application/json"]
        try await MockTest.app().test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers,
                body: MockTest.body(#"{"model":"gpt-4o","messages":[{"role":"user","content":"What is the capital of France?"}]}"#)) { response in
                #expect(response.status == .ok)
                let json = MockTest.json(response.body)
                #expect(json["object"] as? String == "chat.completion")
                #expect(json["model"] as? String == "gpt-4o")
                #expect(MockTest.at(json, "choices", 0, "message", "content") as? String == "The capital of France is Paris.")
                #expect(MockTest.at(json, "choices", 0, "finish_reason") as? String == "stop")
                #expect(MockTest.at(json, "usage", "prompt_tokens") as? Int == 9)
                #expect(MockTest.at(json, "usage", "completion_tokens") as? Int == 6)
            }
            let tools = #"[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers,
                body: MockTest.body(#"{"model":"gpt-4o","tools":\#(tools),"messages":[{"role":"user","content":"Weather? [mock:tool_call]"}]}"#)) { response in
                let json = MockTest.json(response.body)
                #expect(MockTest.at(json, "choices", 0, "finish_reason") as? String == "tool_calls")
                #expect(MockTest.at(json, "choices", 0, "message", "tool_calls", 0, "function", "arguments") as? String == #"{"location":"Paris"}"#)
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [:],
                body: MockTest.body(#"{"model":"gpt-4o","messages":[]}"#)) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/openai/deployments/d1/chat/completions?api-version=2024-10-21", method: .post,
                headers: [HTTPField.Name("api-key")!: "k"], body: MockTest.body(#"{"messages":[{"role":"user","content":"hi [mock:status=429] [mock:retry_after=3]"}]}"#)) { response in
                #expect(response.status.code == 429)
                #expect(MockTest.header(response, "retry-after") == "3")
                #expect(MockTest.at(MockTest.json(response.body), "error", "code") as? String == "rate_limit_exceeded")
            }
        }
    }
}
