import NIOCore
import ScutumCore
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
        #expect(throws: SSEDecoder.LineTooLong.self) {
            _ = try decoder.feed(ByteBuffer(string: "data: " + String(repeating: "x", count: 64)))
        }
        // For providers, a malformed stream.
        var provider = SSEDecoder(maximumLineLength: 16)
        #expect(throws: ProviderError.self) {
            _ = try provider.events(ByteBuffer(string: "data: " + String(repeating: "x", count: 64)))
        }
    }
}

@Suite("Chunk inspection")
struct ChunkInspectorTests {
    static func inspect(_ text: String, as name: String = "gpt-test") throws(ProviderError) -> ChunkInspector.Inspection {
        try ChunkInspector.inspect(ByteBuffer(string: text), renamingModelTo: name, what: "the test object")
    }

    @Test("the top-level model is rewritten, whitespace and escapes respected")
    func rewriteModel() throws {
        let cases: [(String, String)] = [
            (#"{"id":"x","model":"gpt-upstream","choices":[]}"#, #"{"id":"x","model":"gpt-test","choices":[]}"#),
            (#"{"id":"x", "model" : "a\"b\\" ,"n":1}"#, #"{"id":"x", "model" : "gpt-test" ,"n":1}"#),
            (#"{"choices":[{"delta":{"content":"say \"model\":\"no\""}}],"model":"m"}"#,
                #"{"choices":[{"delta":{"content":"say \"model\":\"no\""}}],"model":"gpt-test"}"#),
            (#"{"id":"no model here"}"#, #"{"id":"no model here"}"#),
            // A nested "model" key is not the top-level one, wherever it comes.
            (#"{"choices":[{"message":{"model":"inner"}}],"model":"outer"}"#,
                #"{"choices":[{"message":{"model":"inner"}}],"model":"gpt-test"}"#),
            (#"{"choices":[{"message":{"model":"inner"}}]}"#, #"{"choices":[{"message":{"model":"inner"}}]}"#),
            // The name, escaped, is already the catalog name.
            (#"{"model":"gpt\u002dtest"}"#, #"{"model":"gpt\u002dtest"}"#),
        ]
        for (input, expected) in cases {
            let output = try Self.inspect(input).json
            #expect(String(buffer: output) == expected)
        }
        let quoted = try Self.inspect(#"{"model":"x"}"#, as: #"we"ird"#).json
        #expect(String(buffer: quoted) == #"{"model":"we\"ird"}"#)
    }

    @Test("an answer that already names the catalog model is passed on without a copy")
    func sameModelNoCopy() throws {
        let input = ByteBuffer(string: #"{"id":"x","model":"gpt-test","choices":[]}"#)
        let output = try ChunkInspector.inspect(input, renamingModelTo: "gpt-test", what: "x").json
        #expect(output == input)
        let inputStorage = input.withUnsafeReadableBytes { $0.baseAddress }
        let outputStorage = output.withUnsafeReadableBytes { $0.baseAddress }
        #expect(inputStorage == outputStorage)
    }

    @Test("usage is found only when present at the top level and non-null; usage-only chunks are recognised")
    func usage() throws {
        let none = try Self.inspect(#"{"choices":[{"delta":{"content":"\"usage\":{"}}]}"#)
        #expect(none.usage == nil)
        let null = try Self.inspect(#"{"choices":[{"delta":{}}],"usage":null}"#)
        #expect(null.usage == nil)
        #expect(!null.usageOnly)
        let nested = try Self.inspect(#"{"choices":[{"delta":{"usage":{"prompt_tokens":5}}}]}"#)
        #expect(nested.usage == nil)
        let final = try Self.inspect(
            #"{"choices":[ ],"usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42,"prompt_tokens_details":{"cached_tokens":4}}}"#)
        #expect(final.usage?.promptTokens == 12)
        #expect(final.usage?.completionTokens == 30)
        #expect(final.usage?.cachedTokens == 4)
        #expect(final.usageOnly)
    }

    @Test("error objects in a stream are recognised; ordinary chunks are not")
    func errors() throws {
        #expect(try Self.inspect(#"{"error":{"message":"overloaded"}}"#).errorMessage == "overloaded")
        #expect(try Self.inspect(#"{"error":{}}"#).errorMessage == "the provider reported an error")
        #expect(try Self.inspect(#"{"id":"x","choices":[]}"#).errorMessage == nil)
        #expect(try Self.inspect(" {\"a\":1}\n").errorMessage == nil)
    }

    @Test("answers that are not one valid JSON object are malformed", arguments: [
        #"{"id":oops-not-json"#, #"[1,2]"#, #"{"model":"x"} trailing"#, #"{"usage":{"prompt_tokens":1,}}"#, "",
        #"{"a":"\q"}"#,
    ])
    func malformed(_ text: String) {
        #expect(throws: ProviderError.self) { try Self.inspect(text) }
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
