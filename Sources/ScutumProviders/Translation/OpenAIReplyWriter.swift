import Foundation
import NIOCore
import ScutumCore

/// Why the model stopped, in OpenAI's words.
enum FinishReason: String, Sendable {
    case stop
    case length
    case toolCalls = "tool_calls"
    case contentFilter = "content_filter"
}

/// A complete assistant answer from any provider, before it is written as OpenAI JSON.
struct AssistantReply: Sendable, Equatable {
    var text: String?
    var toolCalls: [ChatInput.ToolCall]
    var finishReason: FinishReason
    var usage: TokenUsage?
}

/// Writes OpenAI's `chat.completion` object and `chat.completion.chunk` objects for one response,
/// with the same `id`, `created` and catalog `model` name on every chunk.
struct OpenAIReplyWriter: Sendable {
    let id: String
    let created: Int
    let model: String

    init(model: String, id: String = "chatcmpl-" + RandomID.make(), created: Int = Int(Date().timeIntervalSince1970)) {
        self.model = model
        self.id = id
        self.created = created
    }

    /// The whole non-streaming answer.
    func completion(_ reply: AssistantReply) -> ByteBuffer {
        var message: [String: JSONValue] = [
            "role": "assistant",
            "content": reply.text.map(JSONValue.string) ?? .null,
            "refusal": .null,
        ]
        if !reply.toolCalls.isEmpty {
            message["tool_calls"] = .array(reply.toolCalls.map { call in
                ["id": .string(call.id), "type": "function",
                 "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
            })
        }
        var buffer = ByteBuffer()
        writeHead(to: &buffer, object: "chat.completion")
        buffer.writeStaticString(#""choices":[{"index":0,"message":"#)
        buffer.writeJSON(.object(message))
        buffer.writeStaticString(#","logprobs":null,"finish_reason":"#)
        buffer.writeJSONQuoted(reply.finishReason.rawValue)
        buffer.writeStaticString("}]")
        if let usage = reply.usage {
            buffer.writeStaticString(#","usage":"#)
            buffer.writeJSON(Self.usageJSON(usage))
        }
        buffer.writeStaticString("}")
        return buffer
    }

    /// A chunk carrying one `delta` (and a finish reason on the last content chunk).
    func chunk(delta: [String: JSONValue], finishReason: FinishReason? = nil) -> ChatCompletionChunk {
        var buffer = ByteBuffer()
        writeHead(to: &buffer, object: "chat.completion.chunk")
        buffer.writeStaticString(#""choices":[{"index":0,"delta":"#)
        buffer.writeJSON(.object(delta))
        buffer.writeStaticString(#","logprobs":null,"finish_reason":"#)
        if let finishReason { buffer.writeJSONQuoted(finishReason.rawValue) } else { buffer.writeStaticString("null") }
        buffer.writeStaticString("}]}")
        return ChatCompletionChunk(json: buffer)
    }

    /// The first chunk: the assistant role and empty content.
    func roleChunk() -> ChatCompletionChunk {
        chunk(delta: ["role": "assistant", "content": ""])
    }

    func contentChunk(_ text: String) -> ChatCompletionChunk {
        chunk(delta: ["content": .string(text)])
    }

    /// The start of a tool call: its id, name and the first arguments text.
    func toolCallStart(index: Int, id: String, name: String, arguments: String = "") -> ChatCompletionChunk {
        chunk(delta: ["tool_calls": [[
            "index": .int(Int64(index)), "id": .string(id), "type": "function",
            "function": ["name": .string(name), "arguments": .string(arguments)],
        ]]])
    }

    /// More arguments text for a tool call already started.
    func toolCallArguments(index: Int, _ arguments: String) -> ChatCompletionChunk {
        chunk(delta: ["tool_calls": [["index": .int(Int64(index)), "function": ["arguments": .string(arguments)]]]])
    }

    func finishChunk(_ reason: FinishReason) -> ChatCompletionChunk {
        chunk(delta: [:], finishReason: reason)
    }

    /// The usage-only chunk OpenAI sends last when `stream_options.include_usage` is set.
    func usageChunk(_ usage: TokenUsage) -> ChatCompletionChunk {
        var buffer = ByteBuffer()
        writeHead(to: &buffer, object: "chat.completion.chunk")
        buffer.writeStaticString(#""choices":[],"usage":"#)
        buffer.writeJSON(Self.usageJSON(usage))
        buffer.writeStaticString("}")
        return ChatCompletionChunk(json: buffer, usage: usage, isUsageOnly: true)
    }

    private func writeHead(to buffer: inout ByteBuffer, object: StaticString) {
        buffer.writeStaticString(#"{"id":"#)
        buffer.writeJSONQuoted(id)
        buffer.writeStaticString(#","object":""#)
        buffer.writeStaticString(object)
        buffer.writeStaticString(#"","created":"#)
        buffer.writeString(String(created))
        buffer.writeStaticString(#","model":"#)
        buffer.writeJSONQuoted(model)
        buffer.writeStaticString(",")
    }

    /// OpenAI's `usage` object.
    static func usageJSON(_ usage: TokenUsage) -> JSONValue {
        var fields: [String: JSONValue] = [
            "prompt_tokens": .int(Int64(usage.promptTokens)),
            "completion_tokens": .int(Int64(usage.completionTokens)),
            "total_tokens": .int(Int64(usage.totalTokens)),
        ]
        if let cached = usage.cachedTokens {
            fields["prompt_tokens_details"] = ["cached_tokens": .int(Int64(cached))]
        }
        if let reasoning = usage.reasoningTokens {
            fields["completion_tokens_details"] = ["reasoning_tokens": .int(Int64(reasoning))]
        }
        return .object(fields)
    }
}

/// Random identifiers in the style providers use (`chatcmpl-...`, `call_...`).
enum RandomID {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    static func make(length: Int = 24) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
