import Foundation
import ScutumTestSupport
import Testing

@Suite("Streaming chat completions")
struct StreamingTests {
    @Test("SSE frames exactly as OpenAI sends them, ending with [DONE]")
    func byteFormat() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("Write a short poem about APIs.", stream: true))
            #expect(result.status == 200)
            #expect(result.header("content-type") == "text/event-stream")
            #expect(result.header("cache-control") == "no-cache")
            let frames = SSEFrames(result.body)
            #expect(frames.wellFormed)
            #expect(frames.endsWithDone)
            let chunks = try frames.chunks()
            #expect(chunks.count > 5)
            for chunk in chunks {
                #expect(chunk["object"] as? String == "chat.completion.chunk")
                #expect(chunk["model"] as? String == "gpt-test")
                #expect((chunk["choices"] as? [Any])?.count == 1)
                #expect(chunk["usage"] == nil || chunk["usage"] is NSNull)
            }
            #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
            let poem = try frames.content()
            #expect(poem.contains("\n"))
            let last = try #require((chunks.last?["choices"] as? [[String: Any]])?.first)
            #expect(last["finish_reason"] as? String == "stop")

            // Usage was requested upstream anyway, so the gateway can count tokens.
            let upstream = try #require(gateway.mockLog.last)
            let sent = try #require(try JSONSerialization.jsonObject(with: Data(upstream.bodyString().utf8)) as? [String: Any])
            #expect((sent["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        }
    }

    @Test("stream_options.include_usage gives the final usage chunk")
    func includeUsage() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("hello there", stream: true, extra: #","stream_options":{"include_usage":true}"#))
            #expect(result.status == 200)
            let frames = SSEFrames(result.body)
            #expect(frames.endsWithDone)
            let chunks = try frames.chunks()
            let final = try #require(chunks.last)
            #expect((final["choices"] as? [Any])?.isEmpty == true)
            let usage = try #require(final["usage"] as? [String: Any])
            let prompt = try #require(usage["prompt_tokens"] as? Int)
            let completion = try #require(usage["completion_tokens"] as? Int)
            #expect(prompt > 0 && completion > 0)
            #expect(usage["total_tokens"] as? Int == prompt + completion)
        }
    }

    @Test("the first chunk reaches the client before the upstream has finished")
    func passesThroughAsItArrives() async throws {
        try await Gateway.with { gateway in
            // 40 tokens at 20/s: about two seconds upstream. The first frame must arrive long before.
            let started = ContinuousClock.now
            let firstFrame = try await gateway.timeToFirstFrame("/v1/chat/completions",
                body: Gateway.chat("Write a short poem about APIs. [mock:tokens_per_sec=20]", stream: true))
            #expect(firstFrame.total - firstFrame.elapsed > .milliseconds(1200),
                "first frame after \(firstFrame.elapsed) of \(firstFrame.total)")
            _ = started
        }
    }

    @Test("an upstream error before the first byte keeps its HTTP status")
    func errorBeforeFirstByte() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("hi [mock:status=500]", stream: true))
            #expect(result.status == 500)
            #expect(try result.openAIError["code"] as? String == "upstream_error")
        }
    }

    @Test("a mid-stream disconnect ends the stream with an error event and no [DONE]")
    func midStreamDisconnect() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("Write a short poem about APIs. [mock:disconnect_after=3]", stream: true))
            #expect(result.status == 200)
            let frames = SSEFrames(result.body)
            #expect(frames.wellFormed)
            #expect(!frames.endsWithDone)
            let last = try #require(frames.payloads.last)
            let error = try #require((try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])?["error"] as? [String: Any])
            #expect(error["code"] as? String == "upstream_connection_error")
            #expect(try frames.content().isEmpty == false)
        }
    }

    @Test("malformed SSE from the provider ends the stream with an error event")
    func malformedUpstream() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("hello [mock:malformed]", stream: true))
            #expect(result.status == 200)
            let frames = SSEFrames(result.body)
            #expect(!frames.endsWithDone)
            let last = try #require(frames.payloads.last)
            #expect(last.contains(#""code":"upstream_malformed_response""#))
            // Nothing malformed reached the client: every frame is valid JSON.
            for payload in frames.payloads {
                #expect((try? JSONSerialization.jsonObject(with: Data(payload.utf8))) != nil, "bad frame: \(payload)")
            }
        }
    }
}
