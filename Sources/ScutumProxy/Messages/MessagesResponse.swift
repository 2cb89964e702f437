import ScutumCore

/// OpenAI chat answers in the shapes of Anthropic's Messages API: a whole `message`, stop reasons,
/// usage, and errors (`{"type":"error","error":{"type","message"}}`).
enum MessagesResponse {
    /// The `message` object for a `chat.completion` (whose usage is `usage`), named `model` as the
    /// client asked.
    static func message(_ completion: JSONValue, usage: TokenUsage?, model: String, id: String) -> JSONValue {
        let choice = completion["choices"]?.arrayValue?.first
        let reply = choice?["message"]
        var content: [JSONValue] = []
        if let text = reply?["content"]?.stringValue, !text.isEmpty {
            content.append(["type": "text", "text": .string(text)])
        }
        for (index, call) in (reply?["tool_calls"]?.arrayValue ?? []).enumerated() {
            content.append(toolUse(id: call["id"]?.stringValue ?? "toolu_\(id)_\(index)",
                name: call["function"]?["name"]?.stringValue ?? "", arguments: call["function"]?["arguments"]?.stringValue))
        }
        return [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
            "content": .array(content),
            "stop_reason": .string(stopReason(choice?["finish_reason"]?.stringValue)), "stop_sequence": .null,
            "usage": self.usage(usage),
        ]
    }

    /// A `tool_use` block; arguments that are not a JSON object become `{}`.
    static func toolUse(id: String, name: String, arguments: String?) -> JSONValue {
        let input = arguments.flatMap { try? JSONParser.parse(Array($0.utf8)) }.flatMap { $0.objectValue != nil ? $0 : nil }
        return ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input ?? [:]]
    }

    /// OpenAI's `finish_reason` as Anthropic's `stop_reason`.
    static func stopReason(_ finish: String?) -> String {
        switch finish {
        case "length": "max_tokens"
        case "tool_calls", "function_call": "tool_use"
        case "content_filter": "refusal"
        default: "end_turn"
        }
    }

    /// The provider's usage as Anthropic's: input tokens net of cache reads and writes, which are
    /// reported apart (1-hour writes also under `cache_creation`, as Anthropic does).
    static func usage(_ usage: TokenUsage?) -> JSONValue {
        let cached = usage?.cachedTokens ?? 0
        let written5m = usage?.cacheWriteTokens ?? 0
        let written1h = usage?.cacheWrite1hTokens ?? 0
        var fields: [String: JSONValue] = [
            "input_tokens": .int(Int64(max(0, (usage?.promptTokens ?? 0) - cached - written5m - written1h))),
            "output_tokens": .int(Int64(usage?.completionTokens ?? 0)),
            "cache_read_input_tokens": .int(Int64(cached)),
            "cache_creation_input_tokens": .int(Int64(written5m + written1h)),
        ]
        if usage?.cacheWrite1hTokens != nil {
            fields["cache_creation"] = [
                "ephemeral_5m_input_tokens": .int(Int64(written5m)), "ephemeral_1h_input_tokens": .int(Int64(written1h)),
            ]
        }
        return .object(fields)
    }

    /// Anthropic's error type for an HTTP status.
    static func errorType(status: Int) -> String {
        switch status {
        case 400, 422: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 503, 529: "overloaded_error"
        default: status >= 500 ? "api_error" : "invalid_request_error"
        }
    }

    /// `error` in Anthropic's error JSON.
    static func error(_ error: GatewayError) -> JSONValue {
        ["type": "error", "error": ["type": .string(errorType(status: error.status)), "message": .string(error.message)]]
    }
}
