import Foundation
import Hummingbird
import NIOCore

/// OpenAI's chat completion wire format, as `api.openai.com` writes it (JSON and SSE).
enum OpenAIChat {
    /// Answers a parsed chat request for `model`.
    static func respond(body: [String: Any], model: String, directives: MockDirectives) async throws -> Response {
        let prompt = ChatPrompt(body)
        let maxTokens = (body["max_completion_tokens"] as? Int) ?? (body["max_tokens"] as? Int)
        // A conversation ending in tool results is answered from them (as the other formats' mocks do).
        let toolResult = toolResults(body)
        let answer = toolResult.map { "The tool said: " + $0 } ?? CannedAnswers.answer(to: MockDirectives.strip(prompt.lastUser))
        var text = Array(repeating: answer, count: directives.repeatCount).joined(separator: " ")
        // Structured outputs: an object of the asked schema (strings hold the answer), or {"answer": ...}.
        if let format = body["response_format"] as? [String: Any] {
            switch format["type"] as? String {
            case "json_schema":
                let schema = (format["json_schema"] as? [String: Any])?["schema"] as? [String: Any] ?? [:]
                text = JSONText.compact(sample(schema: schema, text: text))
            case "json_object": text = JSONText.compact(["answer": text])
            default: break
            }
        }
        var tokens = CannedAnswers.tokens(text)
        if let size = directives.chunkCharacters {
            let text = Array(tokens.joined())
            tokens = stride(from: 0, to: text.count, by: size).map { String(text[$0..<min($0 + size, text.count)]) }
        }
        var finishReason = "stop"
        if let maxTokens, maxTokens >= 0, tokens.count > maxTokens {
            tokens = Array(tokens.prefix(maxTokens))
            finishReason = "length"
        }
        let toolName = directives.toolCall && toolResult == nil ? firstToolName(body) : nil
        let id = "chatcmpl-" + JSONText.randomID()
        let created = Int(Date().timeIntervalSince1970)
        let usage = usageJSON(prompt: max(prompt.promptTokens, directives.cachedTokens),
            completion: (toolName == nil ? tokens.count : 5) + directives.reasoningTokens,
            cached: directives.cachedTokens, reasoning: directives.reasoningTokens)
        if body["stream"] as? Bool == true {
            let includeUsage = (body["stream_options"] as? [String: Any])?["include_usage"] as? Bool ?? false
            return stream(id: id, created: created, model: model, tokens: tokens, finishReason: finishReason,
                toolName: toolName, usage: includeUsage ? usage : nil, knobs: directives.knobs)
        }
        let message: String
        if let toolName {
            message = #"{"role":"assistant","content":null,"tool_calls":[{"id":"call_\#(JSONText.randomID())","type":"function","function":{"name":\#(JSONText.quote(toolName)),"arguments":\#(JSONText.quote(MockAnswer.toolArguments))}}],"refusal":null,"annotations":[]}"#
            finishReason = "tool_calls"
        } else {
            message = #"{"role":"assistant","content":\#(JSONText.quote(tokens.joined())),"refusal":null,"annotations":[]}"#
        }
        let json = #"{"id":"\#(id)","object":"chat.completion","created":\#(created),"model":\#(JSONText.quote(model)),"choices":[{"index":0,"message":\#(message),"logprobs":null,"finish_reason":"\#(finishReason)"}],"usage":\#(usage),"service_tier":"default","system_fingerprint":"fp_mock"}"#
        return MockResponses.json(json)
    }

    /// OpenAI's usage: cached tokens are part of the prompt, reasoning tokens part of the completion.
    static func usageJSON(prompt: Int, completion: Int, cached: Int = 0, reasoning: Int = 0) -> String {
        #"{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion),"prompt_tokens_details":{"cached_tokens":\#(cached),"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":\#(reasoning),"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#
    }

    /// A value of a JSON schema: strings hold `text`, numbers 1, booleans true; objects have every
    /// property, arrays one item, enums their first value.
    static func sample(schema: [String: Any], text: String) -> Any {
        if let values = schema["enum"] as? [Any], let first = values.first { return first }
        let type = (schema["type"] as? String) ?? (schema["type"] as? [String])?.first { $0 != "null" } ?? "object"
        switch type {
        case "string": return text
        case "integer", "number": return 1
        case "boolean": return true
        case "array":
            return [sample(schema: schema["items"] as? [String: Any] ?? ["type": "string"], text: text)]
        case "null": return NSNull()
        default:
            let properties = schema["properties"] as? [String: Any] ?? [:]
            return properties.mapValues { sample(schema: $0 as? [String: Any] ?? [:], text: text) }
        }
    }

    /// The text of the `tool` messages that end the conversation, joined; nil when it does not end in one.
    static func toolResults(_ body: [String: Any]) -> String? {
        let messages = body["messages"] as? [[String: Any]] ?? []
        let results = messages.reversed().prefix { $0["role"] as? String == "tool" }
        guard !results.isEmpty else { return nil }
        return results.reversed().map { MockChatTurn.describe($0["content"]) }.joined(separator: "\n")
    }

    static func firstToolName(_ body: [String: Any]) -> String? {
        guard let tools = body["tools"] as? [[String: Any]], let first = tools.first else { return nil }
        return (first["function"] as? [String: Any])?["name"] as? String
    }

    /// The SSE answer: role chunk, one chunk per token, finish chunk, optional usage chunk, `[DONE]`.
    static func stream(id: String, created: Int, model: String, tokens: [String], finishReason: String,
        toolName: String?, usage: String?, knobs: MockKnobs) -> Response
    {
        let head = #"{"id":"\#(id)","object":"chat.completion.chunk","created":\#(created),"model":\#(JSONText.quote(model)),"service_tier":"default","system_fingerprint":"fp_mock","choices":["#
        let usageField = usage == nil ? "" : #","usage":null"#
        @Sendable func chunk(_ delta: String, finish: String? = nil) -> ByteBuffer {
            let reason = finish.map { "\"\($0)\"" } ?? "null"
            return ByteBuffer(string: "data: " + head + #"{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(reason)}]"# + usageField + "}\n\n")
        }
        let pause: Duration? = knobs.tokensPerSecond > 0 ? .nanoseconds(Int64(1e9 / knobs.tokensPerSecond)) : nil
        return Response(status: .ok, headers: MockResponses.eventStreamHeaders, body: ResponseBody { writer in
            if knobs.timeToFirstToken > .zero { try await Task.sleep(for: knobs.timeToFirstToken) }
            try await writer.write(chunk(#"{"role":"assistant","content":"","refusal":null}"#))
            if let toolName {
                let call = #"{"tool_calls":[{"index":0,"id":"call_\#(JSONText.randomID())","type":"function","function":{"name":\#(JSONText.quote(toolName)),"arguments":""}}]}"#
                try await writer.write(chunk(call))
                try await writer.write(chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":\#(JSONText.quote(MockAnswer.toolArguments))}}]}"#))
                try await writer.write(chunk("{}", finish: "tool_calls"))
            } else {
                for (index, token) in tokens.enumerated() {
                    if let pause { try await Task.sleep(for: pause) }
                    if let limit = knobs.disconnectAfterChunks, index >= limit {
                        try await MockDisconnect.drop()
                    }
                    try await writer.write(chunk(#"{"content":\#(JSONText.quote(token))}"#))
                    if knobs.malformedSSE && index == 0 {
                        try await writer.write(ByteBuffer(string: "data: {\"id\":oops-not-json\n\n"))
                    }
                }
                try await writer.write(chunk("{}", finish: finishReason))
            }
            if let usage {
                try await writer.write(ByteBuffer(string: "data: " + head + "]," + #""usage":"# + usage + "}\n\n"))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        })
    }
}

/// Thrown inside a streaming body to drop the connection mid-answer.
struct MockDisconnect: Error {
    /// Lets what was written reach the peer, as on a real connection that dies between chunks,
    /// then drops the connection.
    static func drop() async throws -> Never {
        try await Task.sleep(for: .milliseconds(20))
        throw MockDisconnect()
    }
}
