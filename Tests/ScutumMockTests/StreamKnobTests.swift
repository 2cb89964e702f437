import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumMock
import Testing

/// The stream knobs apply to every streaming format.
@Suite("Stream knobs")
struct StreamKnobTests {
    static let anthropic = ("/v1/messages", MockTest.anthropicHeaders,
        #"{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Write a poem [mock:DIRECTIVE]"}]}"#)
    static let gemini = ("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", MockTest.geminiHeaders,
        #"{"contents":[{"role":"user","parts":[{"text":"Write a poem [mock:DIRECTIVE]"}]}]}"#)
    static let bedrock = ("/model/amazon.nova-pro-v1%3A0/converse-stream", BedrockMockTests.signed(),
        #"{"messages":[{"role":"user","content":[{"text":"Write a poem [mock:DIRECTIVE]"}]}]}"#)

    @Test("[mock:disconnect_after=N] drops Anthropic, Gemini and Bedrock streams")
    func disconnect() async throws {
        try await MockTest.app().test(.router) { client in
            for (uri, headers, body) in [Self.anthropic, Self.gemini, Self.bedrock] {
                await #expect(throws: (any Error).self) {
                    try await client.execute(uri: uri, method: .post, headers: headers,
                        body: MockTest.body(body.replacingOccurrences(of: "DIRECTIVE", with: "disconnect_after=2")))
                }
            }
        }
    }

    @Test("[mock:tokens_per_sec] paces the chunks")
    func pacing() async throws {
        try await MockTest.app().test(.router) { client in
            for (uri, headers, body) in [Self.anthropic, Self.gemini, Self.bedrock] {
                let started = ContinuousClock.now
                try await client.execute(uri: uri, method: .post, headers: headers,
                    body: MockTest.body(body.replacingOccurrences(of: "DIRECTIVE", with: "tokens_per_sec=400"))) { response in
                    #expect(response.status == .ok)
                }
                // The poem is 35 tokens: at 400 per second, at least 87 ms.
                #expect(ContinuousClock.now - started >= .milliseconds(85))
            }
        }
    }

    @Test("[mock:malformed] sends one broken Gemini event")
    func geminiMalformed() async throws {
        try await MockTest.app().test(.router) { client in
            let (uri, headers, body) = Self.gemini
            try await client.execute(uri: uri, method: .post, headers: headers,
                body: MockTest.body(body.replacingOccurrences(of: "DIRECTIVE", with: "malformed"))) { response in
                let events = parseSSE(MockTest.text(response.body))
                let broken = events.filter { (try? JSONSerialization.jsonObject(with: Data($0.data.utf8))) == nil }
                #expect(broken.count == 1)
                #expect(events.count == 36)
            }
        }
    }

    @Test("without alt=sse, streamGenerateContent streams one JSON array")
    func geminiArrayStream() async throws {
        try await MockTest.app().test(.router) { client in
            try await client.execute(uri: "/v1beta/models/gemini-2.0-flash:streamGenerateContent", method: .post,
                headers: MockTest.geminiHeaders,
                body: MockTest.body(#"{"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}]}"#)) { response in
                #expect(MockTest.header(response, "content-type")?.hasPrefix("application/json") == true)
                let array = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [[String: Any]] ?? []
                #expect(array.count == 6)
                let text = array.compactMap { MockTest.at($0, "candidates", 0, "content", "parts", 0, "text") as? String }
                #expect(text.joined() == "The capital of France is Paris.")
            }
        }
    }
}
