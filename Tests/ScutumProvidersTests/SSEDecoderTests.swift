import NIOCore
import Testing

@testable import ScutumProviders

@Suite("SSE decoding")
struct SSEDecoderTests {
    static let stream = "data: {\"a\":1}\n\n: keep-alive comment\n\nevent: message_start\ndata: {\"b\":2}\n\ndata: line1\ndata: line2\n\r\ndata: [DONE]\n\n"

    func decode(_ text: String, pieceSize: Int) throws -> [(String?, String)] {
        var decoder = SSEDecoder()
        var events: [(String?, String)] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let piece = bytes[index..<min(index + pieceSize, bytes.count)]
            for event in try decoder.feed(ByteBuffer(bytes: piece)) {
                events.append((event.name, String(buffer: event.data)))
            }
            index += pieceSize
        }
        #expect(!decoder.hasPartialEvent)
        return events
    }

    @Test("events come out the same however the bytes are split", arguments: [1, 2, 3, 7, 64, 4096])
    func splitting(pieceSize: Int) throws {
        let events = try decode(Self.stream, pieceSize: pieceSize)
        #expect(events.map(\.1) == [#"{"a":1}"#, #"{"b":2}"#, "line1\nline2", "[DONE]"])
        #expect(events.map(\.0) == [nil, "message_start", nil, nil])
    }

    @Test("CRLF line endings and a data field without the space")
    func crlf() throws {
        let events = try decode("data:{\"x\":true}\r\n\r\ndata: y\r\n\r\n", pieceSize: 5)
        #expect(events.map(\.1) == [#"{"x":true}"#, "y"])
    }

    @Test("a line longer than the limit is refused instead of buffered forever")
    func lineLimit() throws {
        var decoder = SSEDecoder(maximumLineLength: 16)
        #expect(throws: ProviderError.self) {
            _ = try decoder.feed(ByteBuffer(string: "data: " + String(repeating: "x", count: 64)))
        }
    }
}

@Suite("Chunk inspection")
struct ChunkInspectorTests {
    @Test("the top-level model is rewritten, whitespace and escapes respected")
    func rewriteModel() {
        let cases: [(String, String)] = [
            (#"{"id":"x","model":"gpt-upstream","choices":[]}"#, #"{"id":"x","model":"gpt-test","choices":[]}"#),
            (#"{"id":"x", "model" : "a\"b\\" ,"n":1}"#, #"{"id":"x", "model" : "gpt-test" ,"n":1}"#),
            (#"{"choices":[{"delta":{"content":"say \"model\":\"no\""}}],"model":"m"}"#,
                #"{"choices":[{"delta":{"content":"say \"model\":\"no\""}}],"model":"gpt-test"}"#),
            (#"{"id":"no model here"}"#, #"{"id":"no model here"}"#),
        ]
        for (input, expected) in cases {
            let output = ChunkInspector.rewriteModel(in: ByteBuffer(string: input), to: "gpt-test")
            #expect(String(buffer: output) == expected)
        }
        let quoted = ChunkInspector.rewriteModel(in: ByteBuffer(string: #"{"model":"x"}"#), to: #"we"ird"#)
        #expect(String(buffer: quoted) == #"{"model":"we\"ird"}"#)
    }

    @Test("usage is found only when present and non-null; usage-only chunks are recognised")
    func usage() throws {
        let none = try ChunkInspector.usage(in: ByteBuffer(string: #"{"choices":[{"delta":{"content":"\"usage\":{"}}]}"#))
        #expect(none.usage == nil)
        let null = try ChunkInspector.usage(in: ByteBuffer(string: #"{"choices":[{"delta":{}}],"usage":null}"#))
        #expect(null.usage == nil)
        let final = try ChunkInspector.usage(in: ByteBuffer(string:
            #"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42,"prompt_tokens_details":{"cached_tokens":4}}}"#))
        #expect(final.usage?.promptTokens == 12)
        #expect(final.usage?.completionTokens == 30)
        #expect(final.usage?.cachedTokens == 4)
        #expect(final.usageOnly)
    }

    @Test("error objects in a stream are recognised; ordinary chunks are not")
    func errors() {
        #expect(ChunkInspector.errorMessage(in: ByteBuffer(string: #"{"error":{"message":"overloaded"}}"#)) == "overloaded")
        #expect(ChunkInspector.errorMessage(in: ByteBuffer(string: #"{"id":"x","choices":[]}"#)) == nil)
        #expect(ChunkInspector.looksLikeObject(ByteBuffer(string: " {\"a\":1}\n")))
        #expect(!ChunkInspector.looksLikeObject(ByteBuffer(string: #"{"id":oops-not-json"#)))
    }

    @Test("provider errors map to the gateway's status table")
    func statusTable() {
        let cases: [(ProviderError, Int, String?)] = [
            (ProviderError(.status(400), "bad"), 400, "upstream_rejected"),
            (ProviderError(.status(429), "slow down", retryAfter: "3"), 429, "upstream_rate_limited"),
            (ProviderError(.status(401), "no"), 500, "upstream_auth_failed"),
            (ProviderError(.status(503), "down"), 500, "upstream_error"),
            (ProviderError(.timeout, "late"), 500, "upstream_timeout"),
            (ProviderError(.connection, "reset"), 500, "upstream_connection_error"),
            (ProviderError(.malformed, "junk"), 500, "upstream_malformed_response"),
        ]
        for (error, status, code) in cases {
            let mapped = error.gatewayError(model: "m")
            #expect(mapped.status == status)
            #expect(mapped.code == code)
        }
        #expect(ProviderError(.status(429), "x", retryAfter: "3").gatewayError(model: "m").headers["Retry-After"] == "3")
        #expect(!ProviderError(.status(400), "x").isRetryable)
        #expect(ProviderError(.timeout, "x").isRetryable)
    }
}
