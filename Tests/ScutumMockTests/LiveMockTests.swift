import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumMock
import Testing

@Suite("Over real HTTP")
struct LiveMockTests {
    @Test("percent-encoded Bedrock model ids and Gemini's model:method segments route over a real connection")
    func liveRoutes() async throws {
        try await MockTest.app().test(.live) { client in
            try await client.execute(uri: "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", method: .post,
                headers: BedrockMockTests.signed(), body: MockTest.body(BedrockMockTests.question)) { response in
                #expect(response.status == .ok)
                let frames = parseEventStream(Array(response.body.readableBytesView)) ?? []
                #expect(frames.count == 10)
                #expect(frames.allSatisfy { $0.preludeCRCValid && $0.messageCRCValid })
            }
            try await client.execute(uri: "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", method: .post,
                headers: MockTest.geminiHeaders, body: MockTest.body(GeminiMockTests.question)) { response in
                #expect(response.status == .ok)
                #expect(MockTest.text(response.body).components(separatedBy: "\r\n\r\n").count == 7)
            }
        }
    }
}
