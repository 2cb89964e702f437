import NIOCore
import ScutumCore

/// A cached `chat.completion` told again as a stream, as OpenAI streams it: the role and the whole
/// content (or tool calls) in a first chunk per choice, the finish reason in a last one, the usage
/// chunk when the caller asked for it, then `[DONE]`.
enum CachedStream {
    /// The Server-Sent Events of `completion`; nil when it is not a `chat.completion` object.
    static func events(of completion: ByteBuffer, includeUsage: Bool) -> ByteBuffer? {
        guard let answer = try? RequestJSON.parse(completion.readableBytesView), answer.objectValue != nil,
            let choices = answer["choices"]?.arrayValue
        else { return nil }
        var base: [String: JSONValue] = ["id": answer["id"] ?? .string("chatcmpl-cached"),
            "object": "chat.completion.chunk", "created": answer["created"] ?? .int(0),
            "model": answer["model"] ?? .string("")]
        if let fingerprint = answer["system_fingerprint"] { base["system_fingerprint"] = fingerprint }
        var out = ByteBuffer()
        func send(_ choices: [JSONValue], usage: JSONValue? = nil) {
            var chunk = base
            chunk["choices"] = .array(choices)
            if let usage { chunk["usage"] = usage }
            out.writeStaticString("data: ")
            out.writeImmutableBuffer(JSONValue.object(chunk).jsonBytes)
            out.writeStaticString("\n\n")
        }
        for choice in choices {
            let index = choice["index"] ?? .int(0)
            let message = choice["message"]
            var delta: [String: JSONValue] = ["role": message?["role"] ?? "assistant"]
            if let content = message?["content"], content != .null { delta["content"] = content }
            if let reasoning = message?["reasoning_content"] { delta["reasoning_content"] = reasoning }
            if let refusal = message?["refusal"], refusal != .null { delta["refusal"] = refusal }
            if let calls = message?["tool_calls"]?.arrayValue {
                delta["tool_calls"] = .array(calls.enumerated().map { position, call in
                    var entry = call.objectValue ?? [:]
                    entry["index"] = .int(Int64(position))
                    return .object(entry)
                })
            }
            send([["index": index, "delta": .object(delta), "finish_reason": .null]])
            send([["index": index, "delta": [:], "finish_reason": choice["finish_reason"] ?? "stop"]])
        }
        if includeUsage, let usage = answer["usage"] { send([], usage: usage) }
        out.writeStaticString("data: [DONE]\n\n")
        return out
    }
}
