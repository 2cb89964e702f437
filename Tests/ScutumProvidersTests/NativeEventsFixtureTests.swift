import Foundation
import NIOCore
import ScutumCore
import Testing

@testable import ScutumProviders

/// Anthropic's published streaming sample passed through natively (`/v1/messages` to Claude): every
/// event but `message_start` leaves byte for byte as it came, however the bytes are split; the usage
/// is gathered for billing; Bedrock's event-stream chunks unwrap to the same events.
@Suite("Native pass-through of Anthropic's published stream")
struct NativeEventsFixtureTests {
    static func frames(_ text: String) -> [String] {
        text.components(separatedBy: "\n\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    @Test("events pass through unchanged but message_start's model; usage from message_start and message_delta", arguments: [1, 9, 4096])
    func anthropic(step: Int) throws {
        let bytes = try TranslatorFixtureTests.fixture("anthropic-stream-text.sse")
        let chunks = try TranslatorFixtureTests.run(bytes, step: step, framing: SSEFraming(),
            translator: AnthropicNativeEvents(model: "claude-test"))
        #expect(chunks.allSatisfy { $0.native })
        let out = chunks.map { String(buffer: $0.json) }.joined()
        let (ours, theirs) = (Self.frames(out), Self.frames(String(decoding: bytes, as: UTF8.self)))
        #expect(ours.count == theirs.count)
        #expect(Array(ours.dropFirst()).map { $0.replacingOccurrences(of: "\r", with: "") }
            == Array(theirs.dropFirst()).map { $0.replacingOccurrences(of: "\r", with: "") })
        let start = try #require(JSONValue.parse(ByteBuffer(string: String(ours[0].split(separator: "\n")[1].dropFirst(6)))))
        #expect(start["message"]?["model"] == "claude-test" && start["message"]?["id"]?.stringValue?.hasPrefix("msg_") == true)
        #expect(chunks.last?.usage == TokenUsage(promptTokens: 25, completionTokens: 15))
        #expect(chunks.dropLast().allSatisfy { $0.usage == nil })
    }

    @Test("a stream that ends before message_stop is a connection error; an error event a provider error")
    func failures() throws {
        let bytes = try TranslatorFixtureTests.fixture("anthropic-stream-text.sse")
        let cut = Array(String(decoding: bytes, as: UTF8.self).components(separatedBy: "event: message_stop")[0].utf8)
        #expect(throws: ProviderError.self) {
            _ = try TranslatorFixtureTests.run(cut, step: 64, framing: SSEFraming(), translator: AnthropicNativeEvents(model: "m"))
        }
        let overloaded = Array("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".utf8)
        #expect(throws: ProviderError.self) {
            _ = try TranslatorFixtureTests.run(overloaded, step: 64, framing: SSEFraming(), translator: AnthropicNativeEvents(model: "m"))
        }
    }

    @Test("Responses events: passed on whole, the usage on response.completed; response.failed and error end the stream as provider errors")
    func responses() throws {
        let created = #"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[],"usage":null}}"#
        let delta = #"{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}"#
        let completed = #"{"type":"response.completed","sequence_number":2,"response":{"id":"resp_1","object":"response","status":"completed","output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":15}}}"#
        func sse(_ events: [(String, String)]) -> [UInt8] {
            Array(events.map { "event: \($0.0)\ndata: \($0.1)\n\n" }.joined().utf8)
        }
        let stream = sse([("response.created", created), ("response.output_text.delta", delta), ("response.completed", completed)])
        let chunks = try TranslatorFixtureTests.run(stream, step: 17, framing: SSEFraming(), translator: ResponsesNativeEvents())
        #expect(chunks.map { String(buffer: $0.json) }.joined() == String(decoding: stream, as: UTF8.self))
        #expect(chunks.last?.usage == TokenUsage(promptTokens: 12, completionTokens: 3, cachedTokens: 4, reasoningTokens: 0))
        // Fed 17 bytes at a time: a read brings at most one whole event, which leaves at once.
        #expect(chunks.allSatisfy { $0.endsRead })
        let failed = #"{"type":"response.failed","sequence_number":2,"response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"boom"}}}"#
        #expect(throws: ProviderError.self) {
            _ = try TranslatorFixtureTests.run(sse([("response.created", created), ("response.failed", failed)]), step: 64,
                framing: SSEFraming(), translator: ResponsesNativeEvents())
        }
    }
}
