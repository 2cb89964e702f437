import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import ScutumCore
import ScutumProviders
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumProxy

/// Streams that do not end normally are still settled and billed: the client gone after some
/// chunks or before the first byte, the provider failing mid-way, the drain limit reached.
@Suite("Abandoned streams are billed")
struct AbandonedStreamTests {
    /// One spend row's outcome.
    struct Row: Sendable {
        var status: Int
        var promptTokens: Int
        var completionTokens: Int
        var cost: Double
    }

    static func row(_ gateway: Gateway, keyID: String) async throws -> Row {
        let row = try await eventually(timeout: .seconds(30)) { () async throws -> Row? in
            let rows = try await gateway.node.postgres.query(
                "SELECT status, prompt_tokens, completion_tokens, cost::float8 FROM spend_logs WHERE key_id = \(keyID)",
                logger: TestEnvironment.logger)
            for try await (status, prompt, completion, cost) in rows.decode((Int, Int, Int, Double).self) {
                return Row(status: status, promptTokens: prompt, completionTokens: completion, cost: cost)
            }
            return nil
        }
        return try #require(row, "no spend row for key \(keyID)")
    }

    /// Sends a streamed chat request over a plain TCP connection and closes the connection once
    /// `leaveAfterFrames` `data:` frames arrived (0: after `wait`, without reading).
    static func leave(_ gateway: Gateway, key: String, requestID: String, content: String,
        leaveAfterFrames frames: Int, wait: Duration = .zero, path: String = "/v1/chat/completions",
        body: String? = nil) async throws
    {
        let url = URL(string: gateway.baseURL)!
        let body = body ?? Gateway.chat(content, stream: true)
        let request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\n"
            + "Content-Type: application/json\r\nx-request-id: \(requestID)\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
            + body
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: url.port!) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            if frames == 0 {
                try await Task.sleep(for: wait)
                // Reset rather than a polite FIN: the gateway sees the connection gone at once, so
                // the response head itself cannot be written.
                let socket = try #require(channel.channel as? any SocketOptionProvider)
                try await socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
                return
            }
            var seen = ""
            for try await buffer in inbound {
                seen += String(buffer: buffer)
                if seen.components(separatedBy: "data: ").count - 1 >= frames { return }
            }
            throw TestFailure("the stream ended before \(frames) frames: \(seen)")
        }
    }

    @Test("a client gone after two chunks: the provider's usage is read and billed, status 499, the slot freed")
    func goneAfterTwoChunks() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "leaver", settings: KeySettings(maxParallelRequests: 1))
            let id = "req-leave-two-\(UUID().uuidString)"
            try await Self.leave(gateway, key: key, requestID: id,
                content: "Tell me about Paris [mock:tokens_per_sec=40]", leaveAfterFrames: 2)
            let row = try await Self.row(gateway, keyID: record.keyID)
            #expect(row.status == 499)
            #expect(row.promptTokens > 0)
            #expect(row.completionTokens > 2, "the completion the provider generated after the client left is billed")
            #expect(row.cost > 0)
            // The one parallel slot is free again: the next request is served.
            let next = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hello"))
            #expect(next.status == 200)
        }
    }

    @Test("passed-through streams too: a client gone mid-way from Claude's and OpenAI's own events is billed the provider's usage, status 499")
    func nativeStreamsGone() async throws {
        try await Gateway.with { gateway in
            let slow = "Tell me about Paris [mock:tokens_per_sec=40]"
            let doors: [(path: String, body: String)] = [
                ("/v1/messages", MessagesTests.body(model: "claude-test", slow, stream: true)),
                ("/v1/responses", ResponsesTests.body(model: "gpt-test", slow, stream: true)),
            ]
            for door in doors {
                let (key, record) = try await gateway.keys.create(alias: "leaver-\(door.path.dropFirst(4))")
                try await Self.leave(gateway, key: key, requestID: "req-leave-native-\(UUID().uuidString)", content: "",
                    leaveAfterFrames: 5, path: door.path, body: door.body)
                let row = try await Self.row(gateway, keyID: record.keyID)
                #expect(row.status == 499, "\(door.path)")
                #expect(row.promptTokens > 0 && row.completionTokens > 3,
                    "\(door.path): the completion generated after the client left is billed (\(row.completionTokens))")
            }
            #expect(try await gateway.request("/v1/messages", body: MessagesTests.body(model: "claude-test", "hi")).status == 200)
        }
    }

    @Test("a client gone before the first byte: still settled and billed, status 499, the slot freed")
    func goneBeforeFirstByte() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "early", settings: KeySettings(maxParallelRequests: 1))
            let id = "req-leave-early-\(UUID().uuidString)"
            try await Self.leave(gateway, key: key, requestID: id,
                content: "Tell me about Paris [mock:latency_ms=1200]", leaveAfterFrames: 0, wait: .milliseconds(300))
            let row = try await Self.row(gateway, keyID: record.keyID)
            #expect(row.status == 499)
            #expect(row.promptTokens > 0)
            #expect(row.completionTokens > 0)
            #expect(row.cost > 0)
            let next = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hello"))
            #expect(next.status == 200)
        }
    }

    @Test("past the drain limit the request is charged the estimate: the prompt and the text already sent")
    func drainLimitCharged() async throws {
        try await Gateway.with(variables: ["SCUTUM_ABANDONED_STREAM_DRAIN_SECONDS": "0.2"]) { gateway in
            let (key, record) = try await gateway.keys.create(alias: "slow-leaver")
            let id = "req-leave-slow-\(UUID().uuidString)"
            let content = "Tell me about Paris [mock:tokens_per_sec=4] [mock:repeat=5]"
            try await Self.leave(gateway, key: key, requestID: id, content: content, leaveAfterFrames: 3)
            let row = try await Self.row(gateway, keyID: record.keyID)
            #expect(row.status == 499)
            #expect(row.promptTokens == Gateway.chat(content, stream: true).utf8.count / 4)
            #expect(row.completionTokens >= 2)
            #expect(row.cost > 0)
        }
    }

    @Test("a provider failing mid-stream: status 502, the prompt and the text sent charged")
    func providerFailsMidStream() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "broken")
            let id = "req-broken-\(UUID().uuidString)"
            let result = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat("Tell me about Paris [mock:disconnect_after=3]", stream: true),
                headers: [("x-request-id", id)])
            #expect(result.status == 200)
            #expect(!result.body.contains("[DONE]"))
            let row = try await Self.row(gateway, keyID: record.keyID)
            #expect(row.status == 502)
            #expect(row.promptTokens > 0)
            #expect(row.completionTokens >= 3)
        }
    }

    @Test("the completion estimate counts content, reasoning and tool-call argument text, escapes as written")
    func tallyCountsText() {
        let chunk = ByteBuffer(string: #"{"id":"content","choices":[{"delta":{"content":"Hello \"you\"","reasoning_content":"abc","tool_calls":[{"function":{"arguments":"{\"a\":1}"}}]}}]}"#)
        #expect(StreamTally.textBytes(in: chunk) == 13 + 3 + 9)
        var tally = StreamTally()
        tally.add(ChatCompletionChunk(json: chunk))
        tally.add(ChatCompletionChunk(json: ByteBuffer(string: #"{"choices":[{"delta":{"role":"assistant"}}]}"#)))
        #expect(tally.textChunks == 1)
        #expect(tally.estimatedCompletionTokens == 7)
        tally.add(ChatCompletionChunk(json: ByteBuffer(string: #"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}"#),
            usage: TokenUsage(promptTokens: 5, completionTokens: 9), isUsageOnly: true))
        #expect(tally.usage == TokenUsage(promptTokens: 5, completionTokens: 9))
    }
}
