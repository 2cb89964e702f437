import ScutumCore

/// Reads Anthropic Messages API answers: the whole `message` object and its parts.
enum AnthropicResponse {
    /// A non-streaming `message` as an assistant reply.
    static func reply(_ message: JSONValue, jsonMode: Bool) throws(ProviderError) -> AssistantReply {
        guard message["type"]?.stringValue == "message", let content = message["content"]?.arrayValue else {
            throw ProviderError(.malformed, "expected a 'message' object with 'content'")
        }
        var texts: [String] = []
        var calls: [ChatInput.ToolCall] = []
        var answeredAsJSON = false
        for block in content {
            switch block["type"]?.stringValue {
            case "text":
                texts.append(block["text"]?.stringValue ?? "")
            case "tool_use":
                let name = block["name"]?.stringValue ?? ""
                let input = block["input"] ?? .object([:])
                if jsonMode && name == AnthropicRequest.jsonToolName {
                    texts.append(input.jsonString)
                    answeredAsJSON = true
                } else {
                    calls.append(ChatInput.ToolCall(id: block["id"]?.stringValue ?? "toolu_" + RandomID.make(),
                        name: name, arguments: input.jsonString))
                }
            default:
                break  // thinking and redacted_thinking blocks are not part of OpenAI's message.
            }
        }
        var finish = finishReason(message["stop_reason"]?.stringValue)
        if answeredAsJSON && calls.isEmpty && finish == .toolCalls { finish = .stop }
        let text = answeredAsJSON ? texts.last : texts.joined()
        return AssistantReply(text: text.flatMap { $0.isEmpty && !calls.isEmpty ? nil : $0 }, toolCalls: calls,
            finishReason: finish, usage: usage(message["usage"]))
    }

    /// Anthropic's `stop_reason` in OpenAI's terms.
    static func finishReason(_ reason: String?) -> FinishReason {
        switch reason {
        case "max_tokens", "model_context_window_exceeded": .length
        case "tool_use": .toolCalls
        case "refusal": .contentFilter
        default: .stop
        }
    }

    /// Anthropic's usage. Anthropic counts cache reads and writes apart from `input_tokens`; OpenAI
    /// counts them as prompt tokens, so they are added in. Writes split by TTL where
    /// `cache_creation` says (`ephemeral_1h_input_tokens`), else all count as 5-minute writes.
    /// Thinking tokens are not reported apart (they are billed as output).
    static func usage(_ usage: JSONValue?) -> TokenUsage? {
        guard let usage, usage.objectValue != nil else { return nil }
        let input = Int(usage["input_tokens"]?.intValue ?? 0)
        let created = usage["cache_creation_input_tokens"]?.intValue.map(Int.init)
        let read = usage["cache_read_input_tokens"]?.intValue.map(Int.init)
        let oneHour = usage["cache_creation"]?["ephemeral_1h_input_tokens"]?.intValue.map(Int.init)
        let written = created ?? oneHour.map { $0 + Int(usage["cache_creation"]?["ephemeral_5m_input_tokens"]?.intValue ?? 0) }
        return TokenUsage(promptTokens: input + (written ?? 0) + (read ?? 0),
            completionTokens: Int(usage["output_tokens"]?.intValue ?? 0), cachedTokens: read,
            cacheWriteTokens: written.map { max(0, $0 - (oneHour ?? 0)) }, cacheWrite1hTokens: oneHour)
    }

    /// The `ProviderError` for an Anthropic error object (`{"type":"error","error":{"type","message"}}`).
    static func error(_ event: JSONValue) -> ProviderError {
        let type = event["error"]?["type"]?.stringValue ?? "api_error"
        let message = event["error"]?["message"]?.stringValue ?? "the provider reported an error"
        let status = switch type {
        case "invalid_request_error": 400
        case "authentication_error": 401
        case "permission_error": 403
        case "not_found_error": 404
        case "request_too_large": 413
        case "rate_limit_error": 429
        case "overloaded_error": 529
        default: 500
        }
        return ProviderError(.status(status), "\(type): \(message)")
    }
}

/// Translates Anthropic's stream events (`message_start`, `content_block_*`, `message_delta`,
/// `message_stop`, `ping`, `error`) into OpenAI chunks one event at a time.
struct AnthropicStreamTranslator: StreamTranslator {
    let writer: OpenAIReplyWriter
    let jsonMode: Bool
    /// OpenAI tool-call index for each Anthropic content block that is a tool call.
    private var toolIndex: [Int64: Int] = [:]
    /// Content blocks whose JSON input is the answer (`response_format`).
    private var jsonBlocks: Set<Int64> = []
    private var usage = TokenUsage(promptTokens: 0, completionTokens: 0)
    private(set) var isComplete = false
    private var sawFinish = false

    init(writer: OpenAIReplyWriter, jsonMode: Bool) {
        self.writer = writer
        self.jsonMode = jsonMode
    }

    mutating func translate(_ event: SSEDecoder.Event) throws(ProviderError) -> [ChatCompletionChunk] {
        guard let json = JSONValue.parse(event.data), json.objectValue != nil else {
            throw ProviderError(.malformed, "an event in the stream is not a JSON object")
        }
        switch json["type"]?.stringValue ?? event.name {
        case "message_start":
            if let start = AnthropicResponse.usage(json["message"]?["usage"]) { usage = start }
            return [writer.roleChunk()]
        case "content_block_start":
            let index = json["index"]?.intValue ?? 0
            let block = json["content_block"] ?? .null
            switch block["type"]?.stringValue {
            case "tool_use":
                let name = block["name"]?.stringValue ?? ""
                if jsonMode && name == AnthropicRequest.jsonToolName {
                    jsonBlocks.insert(index)
                    return []
                }
                let openAIIndex = toolIndex.count
                toolIndex[index] = openAIIndex
                return [writer.toolCallStart(index: openAIIndex, id: block["id"]?.stringValue ?? "toolu_" + RandomID.make(),
                    name: name)]
            case "text":
                let text = block["text"]?.stringValue ?? ""
                return text.isEmpty ? [] : [writer.contentChunk(text)]
            default:
                return []
            }
        case "content_block_delta":
            let index = json["index"]?.intValue ?? 0
            let delta = json["delta"] ?? .null
            switch delta["type"]?.stringValue {
            case "text_delta":
                return [writer.contentChunk(delta["text"]?.stringValue ?? "")]
            case "input_json_delta":
                let partial = delta["partial_json"]?.stringValue ?? ""
                if partial.isEmpty { return [] }
                if jsonBlocks.contains(index) { return [writer.contentChunk(partial)] }
                guard let openAIIndex = toolIndex[index] else { return [] }
                return [writer.toolCallArguments(index: openAIIndex, partial)]
            case "thinking_delta":
                return [writer.chunk(delta: ["reasoning_content": .string(delta["thinking"]?.stringValue ?? "")])]
            default:
                return []
            }
        case "message_delta":
            if let more = AnthropicResponse.usage(json["usage"]) { usage.update(with: more) }
            guard let reason = json["delta"]?["stop_reason"]?.stringValue else { return [] }
            var finish = AnthropicResponse.finishReason(reason)
            if finish == .toolCalls && toolIndex.isEmpty && !jsonBlocks.isEmpty { finish = .stop }
            sawFinish = true
            return [writer.finishChunk(finish)]
        case "message_stop":
            isComplete = true
            return (sawFinish ? [] : [writer.finishChunk(.stop)]) + [writer.usageChunk(usage)]
        case "error":
            throw AnthropicResponse.error(json)
        default:
            return []  // ping, content_block_stop, and event types added later
        }
    }

    mutating func finish() throws(ProviderError) -> [ChatCompletionChunk] {
        throw ProviderError(.connection, "the provider ended the stream before message_stop")
    }
}
