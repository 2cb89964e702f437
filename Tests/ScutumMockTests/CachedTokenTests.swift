import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumMock
import Testing

@Suite("Cached tokens")
struct CachedTokenTests {
    @Test("[mock:cached=N] larger than the prompt is reported as asked, the prompt grown to match")
    func largeCache() async throws {
        try await MockTest.app().test(.router) { client in
            try await client.execute(uri: "/v1/messages", method: .post, headers: MockTest.anthropicHeaders,
                body: MockTest.body(#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi [mock:cached=1000]"}]}"#)) { response in
                let usage = MockTest.json(response.body)["usage"]
                #expect(MockTest.at(usage, "cache_read_input_tokens") as? Int == 1000)
                #expect(MockTest.at(usage, "input_tokens") as? Int == 0)
            }
            try await client.execute(uri: "/v1beta/models/gemini-2.0-flash:generateContent", method: .post, headers: MockTest.geminiHeaders,
                body: MockTest.body(#"{"contents":[{"role":"user","parts":[{"text":"hi [mock:cached=1000]"}]}]}"#)) { response in
                let usage = MockTest.json(response.body)["usageMetadata"]
                #expect(MockTest.at(usage, "cachedContentTokenCount") as? Int == 1000)
                #expect(MockTest.at(usage, "promptTokenCount") as? Int == 1000)
            }
        }
    }
}
