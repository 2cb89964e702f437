import Foundation
import NIOHTTP1
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

/// `/v1/messages` to Claude deployments passes through untranslated: the caller's body (thinking,
/// cache_control, documents...) reaches Anthropic as it was sent, only the model renamed, and
/// Anthropic's answer and stream events come back as Anthropic wrote them.
@Suite("Anthropic Messages API passed through to Claude")
struct MessagesNativeTests {
    /// A request translation cannot carry: extended thinking, cache breakpoints, a document block.
    static let rich = #"{"model":"claude-test","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"#
        + #""system":[{"type":"text","text":"You review contracts.","cache_control":{"type":"ephemeral"}}],"#
        + #""metadata":{"user_id":"u-42"},"top_k":5,"#
        + #""messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Clause 1: pay on time."}},"#
        + #"{"type":"text","text":"Summarize the clause.","cache_control":{"type":"ephemeral"}}]}]}"#

    static func jsonObject(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("JSON: the body reaches Anthropic untranslated with the caller's anthropic-version and -beta; Anthropic's message comes back; cache writes are billed as prompt tokens")
    func passThrough() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "claude-code")
            let result = try await gateway.request("/v1/messages", key: nil, body: Self.rich, headers: [("x-api-key", key),
                ("anthropic-version", "2023-06-01"), ("anthropic-beta", "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14")])
            #expect(result.status == 200, "\(result.body)")
            let sent = try #require(gateway.mockLog.last)
            #expect(sent.uri.hasSuffix("/v1/messages"))
            #expect(sent.headers.contains { $0.0.lowercased() == "anthropic-beta" && $0.1.contains("interleaved-thinking") })
            var expected = try Self.jsonObject(Self.rich)
            expected["model"] = "claude-sonnet-4-5"
            let received = try Self.jsonObject(sent.bodyString())
            #expect(NSDictionary(dictionary: received).isEqual(to: expected), "\(sent.bodyString())")

            let message = try result.json
            #expect(message["model"] as? String == "claude-test")
            let content = try #require(message["content"] as? [[String: Any]])
            #expect(content.map { $0["type"] as? String } == ["thinking", "text"])
            #expect((content[0]["signature"] as? String)?.isEmpty == false)
            let usage = try #require(message["usage"] as? [String: Any])
            let written = try #require(usage["cache_creation_input_tokens"] as? Int)
            let input = try #require(usage["input_tokens"] as? Int)
            #expect(written > 0)

            let logs = try await gateway.spendLogs(keyID: record.keyID, count: 1)
            let row = try #require(logs?.first)
            #expect(row.promptTokens == input + written && row.completionTokens == usage["output_tokens"] as? Int)
            #expect(row.endpoint == FrontDoor.messages && row.modelRequested == "claude-test")
        }
    }

    @Test("a stream: Anthropic's own events, thinking and signature deltas included, byte for byte but for the model; billed from its usage")
    func stream() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "streamer")
            let body = Self.rich.replacingOccurrences(of: #""max_tokens":2048,"#, with: #""max_tokens":2048,"stream":true,"#)
            let result = try await gateway.request("/v1/messages", key: key, body: body)
            #expect(result.status == 200, "\(result.body)")
            let events = try MessagesTests.events(result.body)
            #expect(events.map(\.0) == ["message_start", "content_block_start", "content_block_delta", "content_block_delta",
                "content_block_stop", "content_block_start", "ping"] + Array(repeating: "content_block_delta",
                count: events.count - 10) + ["content_block_stop", "message_delta", "message_stop"], "\(events.map(\.0))")
            #expect((events[0].1["message"] as? [String: Any])?["model"] as? String == "claude-test")
            #expect((events[2].1["delta"] as? [String: Any])?["type"] as? String == "thinking_delta")
            #expect((events[3].1["delta"] as? [String: Any])?["type"] as? String == "signature_delta")

            // The same request straight to the mock: the same frames, bar ids, signatures and the model.
            let upstream = try await Gateway.send(.POST, gateway.mockURL + "/v1/messages", key: nil,
                body: body.replacingOccurrences(of: "claude-test", with: "claude-sonnet-4-5"),
                headers: [("x-api-key", "k"), ("anthropic-version", "2023-06-01")]).body
            func normalized(_ text: String) -> String {
                text.replacingOccurrences(of: #""(msg|toolu)_[A-Za-z0-9]+""#, with: #""ID""#, options: .regularExpression)
                    .replacingOccurrences(of: #""EqQB[A-Za-z0-9]+""#, with: #""SIG""#, options: .regularExpression)
                    .replacingOccurrences(of: "claude-sonnet-4-5", with: "claude-test")
            }
            // message_start is rewritten (the model), so compared as JSON; every other frame as bytes.
            let (ours, theirs) = (normalized(result.body).components(separatedBy: "\n\n"),
                normalized(upstream).components(separatedBy: "\n\n"))
            #expect(ours.count == theirs.count && Array(ours.dropFirst()) == Array(theirs.dropFirst()),
                "\(result.body)\n---\n\(upstream)")
            let start = { (frame: String) in try Self.jsonObject(String(frame.split(separator: "\n")[1].dropFirst(6))) }
            #expect(NSDictionary(dictionary: try start(ours[0])).isEqual(to: try start(theirs[0])))

            let logs = try await gateway.spendLogs(keyID: record.keyID, count: 1)
            let row = try #require(logs?.first)
            #expect(row.stream && row.status == 200 && row.promptTokens > 0 && row.completionTokens > 0)
        }
    }

    @Test("passed-through streams deliver each delta as it comes (not held to the end of its block)",
        arguments: [("/v1/messages", "text_delta"), ("/v1/responses", "response.output_text.delta")])
    func incremental(door: (path: String, marker: String)) async throws {
        try await Gateway.with { gateway in
            let prompt = "[mock:tokens_per_sec=20] Write a short poem about APIs."
            let body = door.path == "/v1/messages" ? MessagesTests.body(model: "claude-test", prompt, stream: true)
                : ResponsesTests.body(model: "gpt-test", prompt, stream: true)
            let (first, total) = try await gateway.timeToFirstFrame(door.path, body: body, marker: door.marker)
            #expect(total - first > .milliseconds(600), "first delta after \(first) of \(total)")
        }
    }

    @Test("Vertex AI's Claude: rawPredict with anthropic_version and no model; a non-Claude model gets what translation refuses as a 400 naming it; then served")
    func vertexAndRefusals() async throws {
        try await Gateway.with { gateway in
            let vertex = try await gateway.request("/v1/messages",
                body: Self.rich.replacingOccurrences(of: "claude-test", with: "vertex-claude"))
            #expect(vertex.status == 200, "\(vertex.body)")
            let sent = try #require(gateway.mockLog.last)
            #expect(sent.uri.contains(":rawPredict"), "\(sent.uri)")
            let received = try Self.jsonObject(sent.bodyString())
            #expect(received["model"] == nil && received["anthropic_version"] as? String == "vertex-2023-10-16")
            #expect(received["thinking"] != nil)

            let refused = try await gateway.request("/v1/messages", body: Self.rich.replacingOccurrences(of: "claude-test", with: "gpt-test"))
            #expect(refused.status == 400, "\(refused.body)")
            let error = try #require(try refused.json["error"] as? [String: Any])
            #expect(error["type"] as? String == "invalid_request_error")
            #expect((error["message"] as? String)?.contains("gpt-test") == true, "\(refused.body)")
            #expect(try await gateway.request("/v1/messages", body: MessagesTests.body(model: "gpt-test", "hi")).status == 200)
        }
    }

    @Test("Bedrock's Claude: InvokeModel with anthropic_version bedrock-2023-05-31, betas in the body, no model or stream; the stream's event-stream chunks come back as Anthropic's own events")
    func bedrock() async throws {
        try await Gateway.with { gateway in
            let body = Self.rich.replacingOccurrences(of: "claude-test", with: "bedrock-claude")
            let result = try await gateway.request("/v1/messages", body: body,
                headers: [("anthropic-beta", "interleaved-thinking-2025-05-14, prompt-caching-2024-07-31")])
            #expect(result.status == 200, "\(result.body)")
            let sent = try #require(gateway.mockLog.last)
            #expect(sent.uri.hasSuffix("/invoke"), "\(sent.uri)")
            let received = try Self.jsonObject(sent.bodyString())
            #expect(received["model"] == nil && received["stream"] == nil && received["thinking"] != nil)
            #expect(received["anthropic_version"] as? String == "bedrock-2023-05-31")
            #expect(received["anthropic_beta"] as? [String] == ["interleaved-thinking-2025-05-14", "prompt-caching-2024-07-31"])
            let message = try result.json
            #expect(message["model"] as? String == "bedrock-claude")
            #expect((message["content"] as? [[String: Any]])?.map { $0["type"] as? String } == ["thinking", "text"])

            let streamed = try await gateway.request("/v1/messages",
                body: body.replacingOccurrences(of: #""max_tokens":2048,"#, with: #""max_tokens":2048,"stream":true,"#))
            #expect(streamed.status == 200, "\(streamed.body)")
            #expect(try #require(gateway.mockLog.last).uri.hasSuffix("/invoke-with-response-stream"))
            let events = try MessagesTests.events(streamed.body)
            #expect(events.first?.0 == "message_start" && events.last?.0 == "message_stop", "\(events.map(\.0))")
            #expect((events.first?.1["message"] as? [String: Any])?["model"] as? String == "bedrock-claude")
            #expect(events.contains { ($0.1["delta"] as? [String: Any])?["type"] as? String == "thinking_delta" })
            let text = events.compactMap { ($0.1["delta"] as? [String: Any])?["text"] as? String }.joined()
            #expect(text == ((message["content"] as? [[String: Any]])?.last?["text"] as? String))
        }
    }

    @Test("a key with a guardrail profile is translated (its profiles read the chat form): the card number is masked before Claude sees it")
    func guardedKeysAreTranslated() async throws {
        try await Gateway.with { gateway in
            let admin = try await GuardrailTests.admin(gateway)
            _ = try await GuardrailTests.profile(admin, #"{"name":"mask-cards","mode":"input","enable_pii_detection":true,"#
                + #""pii_action":"mask","pii_entities":["CREDIT_CARD"]}"#, team: "team-claude")
            let (key, _) = try await gateway.keys.create(alias: "guarded", settings: KeySettings(teamID: "team-claude"))
            let body = MessagesTests.body(model: "claude-test", "Charge \(GuardrailTests.card) please")
            let masked = try await eventually(timeout: .seconds(10)) { () async throws -> Bool? in
                let result = try await gateway.request("/v1/messages", key: key, body: body)
                guard result.status == 200 else { return nil }
                return gateway.mockLog.last?.bodyString().contains("<CREDIT_CARD>") == true ? true : nil
            }
            #expect(masked == true)
            #expect(gateway.mockLog.last?.bodyString().contains("4111") == false)
        }
    }
}
