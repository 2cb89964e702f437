import Foundation
import NIOCore
import ScutumCore
import Testing

@testable import ScutumProviders

/// Providers' own published samples (Tests/ScutumProvidersTests/Fixtures, sources beside each file)
/// translated into OpenAI's format and compared with the chunks and objects OpenAI would send.
@Suite("Translating providers' published samples")
struct TranslatorFixtureTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    static let writer = OpenAIReplyWriter(model: "m", id: "chatcmpl-x", created: 1)

    /// The chunks as JSON values with `id`, `created`, `object` and `model` checked and removed.
    static func normalized(_ chunks: [ChatCompletionChunk]) throws -> [JSONValue] {
        try chunks.map { chunk in
            guard case .object(var fields) = try #require(JSONValue.parse(chunk.json)) else {
                throw TestError("chunk is not an object")
            }
            #expect(fields.removeValue(forKey: "id") == "chatcmpl-x")
            #expect(fields.removeValue(forKey: "created") == 1)
            #expect(fields.removeValue(forKey: "object") == "chat.completion.chunk")
            #expect(fields.removeValue(forKey: "model") == "m")
            return .object(fields)
        }
    }

    /// Feeds `bytes` in pieces of `step` bytes, as a network would deliver them.
    static func run<F: StreamFraming, T: StreamTranslator>(_ bytes: [UInt8], step: Int, framing: F, translator: T)
        throws -> [ChatCompletionChunk] where F.Frame == T.Frame
    {
        var framing = framing
        var translator = translator
        var chunks: [ChatCompletionChunk] = []
        var offset = 0
        while offset < bytes.count, !translator.isComplete {
            let piece = ByteBuffer(bytes: bytes[offset..<min(offset + step, bytes.count)])
            offset += step
            for frame in try framing.feed(piece) where !translator.isComplete {
                chunks += try translator.translate(frame)
            }
        }
        if !translator.isComplete {
            #expect(!framing.hasPartialFrame)
            chunks += try translator.finish()
        }
        return chunks
    }

    static func delta(_ delta: JSONValue, finish: String? = nil) -> JSONValue {
        ["choices": [["index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish.map(JSONValue.string) ?? nil]]]
    }

    static func usage(_ prompt: Int64, _ completion: Int64) -> JSONValue {
        ["choices": [], "usage": ["prompt_tokens": .int(prompt), "completion_tokens": .int(completion),
            "total_tokens": .int(prompt + completion)]]
    }

    @Test("Anthropic's basic streaming example", arguments: [1, 7, 4096])
    func anthropicText(step: Int) throws {
        let chunks = try Self.run(try Self.fixture("anthropic-stream-text.sse"), step: step, framing: SSEFraming(),
            translator: AnthropicStreamTranslator(writer: Self.writer, jsonMode: false))
        #expect(try Self.normalized(chunks) == [
            Self.delta(["role": "assistant", "content": ""]),
            Self.delta(["content": "Hello"]),
            Self.delta(["content": "!"]),
            Self.delta([:], finish: "stop"),
            Self.usage(25, 15),
        ])
        #expect(chunks.last?.isUsageOnly == true)
        #expect(chunks.last?.usage == TokenUsage(promptTokens: 25, completionTokens: 15))
    }

    @Test("Anthropic's streaming tool-use example")
    func anthropicToolUse() throws {
        var bytes = try Self.fixture("anthropic-stream-tool-use.sse")
        // The published sample stops after the last data line; a live stream ends the event with a blank line.
        bytes += Array("\n".utf8)
        let chunks = try Self.run(bytes, step: 13, framing: SSEFraming(),
            translator: AnthropicStreamTranslator(writer: Self.writer, jsonMode: false))
        let text = ["Okay", ",", " let", "'s", " check", " the", " weather", " for", " San", " Francisco", ",", " CA", ":"]
        let arguments = ["{\"location\":", " \"San", " Francisc", "o,", " CA\"", ", ", "\"unit\": \"fah", "renheit\"}"]
        var expected: [JSONValue] = [Self.delta(["role": "assistant", "content": ""])]
        expected += text.map { Self.delta(["content": .string($0)]) }
        expected.append(Self.delta(["tool_calls": [["index": 0, "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "type": "function",
            "function": ["name": "get_weather", "arguments": ""]]]]))
        expected += arguments.map { Self.delta(["tool_calls": [["index": 0, "function": ["arguments": .string($0)]]]]) }
        expected.append(Self.delta([:], finish: "tool_calls"))
        expected.append(Self.usage(472, 89))
        #expect(try Self.normalized(chunks) == expected)
        let joined = arguments.joined()
        #expect(JSONValue.parse(ByteBuffer(string: joined)) == ["location": "San Francisco, CA", "unit": "fahrenheit"])
    }

    @Test("Anthropic's non-streaming examples")
    func anthropicMessages() throws {
        let text = try AnthropicResponse.reply(try #require(JSONValue.parse(ByteBuffer(bytes: try Self.fixture("anthropic-message.json")))),
            jsonMode: false)
        #expect(text == AssistantReply(text: "Hello!", toolCalls: [], finishReason: .stop,
            usage: TokenUsage(promptTokens: 12, completionTokens: 6)))
        var toolJSON = try #require(JSONValue.parse(ByteBuffer(bytes: try Self.fixture("anthropic-message-tool-use.json"))))
        // The docs' sample leaves out `type`, which the API always sends.
        if case .object(var fields) = toolJSON, fields["type"] == nil {
            fields["type"] = "message"
            toolJSON = .object(fields)
        }
        let tool = try AnthropicResponse.reply(toolJSON, jsonMode: false)
        #expect(tool.finishReason == .toolCalls)
        let call = try #require(tool.toolCalls.first)
        #expect(call.name == "get_weather")
        #expect(JSONValue.parse(ByteBuffer(string: call.arguments))?["location"] != nil)
        let body = try #require(JSONValue.parse(Self.writer.completion(tool)))
        #expect(body["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
        #expect(body["choices"]?.arrayValue?.first?["message"]?["tool_calls"]?.arrayValue?.first?["type"] == "function")
    }

    @Test("Gemini's recorded stream", arguments: [1, 50, 4096])
    func geminiStream(step: Int) throws {
        let chunks = try Self.run(try Self.fixture("gemini-stream.sse"), step: step, framing: SSEFraming(),
            translator: GeminiStreamTranslator(writer: Self.writer))
        #expect(try Self.normalized(chunks) == [
            Self.delta(["role": "assistant", "content": ""]),
            Self.delta(["content": "The"]),
            Self.delta(["content": " capital of Wyoming"]),
            Self.delta(["content": " is **Cheyenne**.\n"]),
            Self.delta([:], finish: "stop"),
            Self.usage(7, 10),
        ])
    }

    @Test("a Gemini stream cut off before its finish reason is an error, not a short answer")
    func geminiTruncated() throws {
        let bytes = try Self.fixture("gemini-stream.sse")
        let text = String(decoding: bytes, as: UTF8.self)
        let cut = try #require(text.range(of: "\n\ndata: ", options: .backwards))
        let truncated = Array(text[..<cut.upperBound].dropLast("data: ".count).utf8)
        #expect(throws: ProviderError.self) {
            _ = try Self.run(truncated, step: 4096, framing: SSEFraming(), translator: GeminiStreamTranslator(writer: Self.writer))
        }
    }

    @Test("Gemini's recorded answers: text, and a function call with thinking tokens")
    func geminiResponses() throws {
        let text = try GeminiResponse.reply(try #require(JSONValue.parse(ByteBuffer(bytes: try Self.fixture("gemini-response.json")))))
        #expect(text.finishReason == .stop)
        #expect(text.text?.isEmpty == false)
        let call = try GeminiResponse.reply(try #require(JSONValue.parse(ByteBuffer(bytes: try Self.fixture("gemini-function-call.json")))))
        #expect(call.finishReason == .toolCalls)
        #expect(call.text == nil)
        #expect(call.toolCalls.first?.name == "fetchWeather")
        #expect(JSONValue.parse(ByteBuffer(string: call.toolCalls.first?.arguments ?? ""))?["param"]?["city"] == "Boston")
        // Thinking tokens are billed as output, and reported as reasoning tokens.
        #expect(call.usage == TokenUsage(promptTokens: 212, completionTokens: 39 + 139, reasoningTokens: 139))
    }

    @Test("Bedrock's Converse examples")
    func bedrockConverse() throws {
        let text = try BedrockConverseResponse.reply(
            try #require(JSONValue.parse(ByteBuffer(bytes: try Self.fixture("bedrock-converse-response.json")))), jsonMode: false)
        #expect(text.usage == TokenUsage(promptTokens: 125, completionTokens: 60))
        #expect(text.text?.isEmpty == false)
        let tool = try BedrockConverseResponse.reply(
            try #require(JSONValue.parse(ByteBuffer(bytes: try Self.fixture("bedrock-converse-tool-use.json")))), jsonMode: false)
        #expect(tool.finishReason == .toolCalls)
        #expect(tool.toolCalls == [ChatInput.ToolCall(id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name: "top_song",
            arguments: #"{"sign":"WZPZ"}"#)])
    }

    @Test("Bedrock's ConverseStream events in event-stream frames", arguments: [1, 9, 65536])
    func bedrockStream(step: Int) throws {
        var bytes: [UInt8] = []
        let lines = String(decoding: try Self.fixture("bedrock-converse-stream-events.jsonl"), as: UTF8.self)
            .split(separator: "\n")
        for line in lines {
            let event = try #require(JSONValue.parse(ByteBuffer(string: String(line))))
            let payload = try #require(event["payload"])
            bytes += try AWSEventStreamDecoder.encode(headers: [
                (":event-type", .string(try #require(event["event"]?.stringValue))),
                (":content-type", .string("application/json")),
                (":message-type", .string("event")),
            ], payload: Array(payload.jsonBytes.readableBytesView))
        }
        let chunks = try Self.run(bytes, step: step, framing: AWSEventStreamFraming(),
            translator: BedrockStreamTranslator(writer: Self.writer, jsonMode: false))
        #expect(try Self.normalized(chunks) == [
            Self.delta(["role": "assistant", "content": ""]),
            Self.delta(["content": " Title"]),
            Self.delta(["content": ":"]),
            Self.delta(["content": " The"]),
            Self.delta(["tool_calls": [["index": 0, "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
                "function": ["name": "top_song", "arguments": ""]]]]),
            Self.delta(["tool_calls": [["index": 0, "function": ["arguments": "{\"sign\": \"WZPZ\"}"]]]]),
            Self.delta([:], finish: "tool_calls"),
            Self.usage(47, 20),
        ])
    }

    @Test("an exception frame in a Bedrock stream becomes the provider's error with its status")
    func bedrockException() throws {
        let frame = try AWSEventStreamDecoder.encode(headers: [
            (":exception-type", .string("throttlingException")),
            (":content-type", .string("application/json")),
            (":message-type", .string("exception")),
        ], payload: Array(#"{"message":"Too many requests"}"#.utf8))
        do {
            _ = try Self.run(frame, step: 5, framing: AWSEventStreamFraming(),
                translator: BedrockStreamTranslator(writer: Self.writer, jsonMode: false))
            Issue.record("no error")
        } catch let error as ProviderError {
            #expect(error.kind == .status(429))
            #expect(error.message.contains("Too many requests"))
        }
    }

    @Test("a corrupted Bedrock frame ends the stream as malformed")
    func bedrockCorrupt() throws {
        var frame = try AWSEventStreamDecoder.encode(headers: [(":event-type", .string("messageStart")),
            (":message-type", .string("event"))], payload: Array(#"{"role":"assistant"}"#.utf8))
        frame[frame.count - 6] ^= 0xFF
        do {
            _ = try Self.run(frame, step: 64, framing: AWSEventStreamFraming(),
                translator: BedrockStreamTranslator(writer: Self.writer, jsonMode: false))
            Issue.record("no error")
        } catch let error as ProviderError {
            #expect(error.kind == .malformed)
        }
    }

    @Test("Anthropic's mid-stream error event carries its type and status")
    func anthropicErrorEvent() throws {
        let bytes = Array("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".utf8)
        do {
            _ = try Self.run(bytes, step: 4096, framing: SSEFraming(),
                translator: AnthropicStreamTranslator(writer: Self.writer, jsonMode: false))
            Issue.record("no error")
        } catch let error as ProviderError {
            #expect(error.kind == .status(529))
            #expect(error.message.contains("Overloaded"))
        }
    }
}

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
