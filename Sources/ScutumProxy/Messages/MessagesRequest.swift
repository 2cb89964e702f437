import ScutumCore

/// An Anthropic Messages API request (`POST /v1/messages`) as the OpenAI chat request the pipeline
/// serves: `system` becomes a system message, text and image blocks become content parts,
/// `tool_use` blocks the assistant's `tool_calls`, `tool_result` blocks `tool` messages, tools and
/// `tool_choice` their OpenAI forms, `stop_sequences` `stop`, `metadata.user_id` `user`.
///
/// What chat cannot carry is refused with 400 rather than dropped: document blocks, server tools
/// (web search...), and blocks of unknown types. `thinking` and `cache_control` hints, and thinking
/// blocks in the history, are not carried (chat has no place for them); `top_k` neither.
enum MessagesRequest {
    /// The chat request for `body`, and whether the client asked for a stream.
    static func chat(_ body: JSONValue) throws(GatewayError) -> (chat: JSONValue, stream: Bool) {
        guard let fields = body.objectValue else {
            throw .invalidRequest("The request body must be a JSON object.", code: nil)
        }
        guard let model = fields["model"]?.stringValue, !model.isEmpty else { throw .missingParameter("model") }
        guard let maxTokens = fields["max_tokens"] else { throw .missingParameter("max_tokens") }
        guard let limit = maxTokens.intValue, limit >= 1, limit <= ChatCompletionRequest.maximumCompletionTokens else {
            throw .invalidRequest("max_tokens: must be an integer between 1 and "
                + "\(ChatCompletionRequest.maximumCompletionTokens).", param: "max_tokens")
        }
        guard let turns = fields["messages"]?.arrayValue else { throw .missingParameter("messages") }
        let stream = try flag(fields["stream"], "stream")

        var messages: [JSONValue] = []
        if let system = fields["system"], !system.isNull {
            messages.append(["role": "system", "content": .string(try text(of: system, at: "system"))])
        }
        for (index, turn) in turns.enumerated() {
            messages += try chatMessages(turn, at: "messages.\(index)")
        }
        var chat: [String: JSONValue] = [
            "model": .string(model), "messages": .array(messages), "max_tokens": .int(limit),
        ]
        if stream {
            chat["stream"] = true
            chat["stream_options"] = ["include_usage": true]
        }
        for name in ["temperature", "top_p"] {
            guard let value = fields[name], !value.isNull else { continue }
            guard value.doubleValue != nil else { throw .invalidRequest("\(name): must be a number.", param: name) }
            chat[name] = value
        }
        if let stops = fields["stop_sequences"], !stops.isNull {
            guard let list = stops.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw .invalidRequest("stop_sequences: must be a list of strings.", param: "stop_sequences")
            }
            chat["stop"] = .array(list)
        }
        if let user = fields["metadata"]?["user_id"]?.stringValue { chat["user"] = .string(user) }
        if let tools = fields["tools"], !tools.isNull {
            guard let list = tools.arrayValue else { throw .invalidRequest("tools: must be a list.", param: "tools") }
            chat["tools"] = .array(try list.enumerated().map { index, tool throws(GatewayError) in
                try chatTool(tool, at: "tools.\(index)")
            })
        }
        if let choice = fields["tool_choice"], !choice.isNull {
            let (openAI, parallel) = try toolChoice(choice)
            chat["tool_choice"] = openAI
            if parallel == false { chat["parallel_tool_calls"] = false }
        }
        return (.object(chat), stream)
    }

    /// The chat form of a request translation cannot carry, for admission and routing only (the
    /// request itself goes to Claude untranslated): the model, `max_tokens` and the stream flag
    /// checked as for any request, one placeholder message.
    static func admissionOnly(_ body: JSONValue) throws(GatewayError) -> (chat: JSONValue, stream: Bool) {
        guard body.objectValue != nil else { throw .invalidRequest("The request body must be a JSON object.", code: nil) }
        guard let model = body["model"]?.stringValue, !model.isEmpty else { throw .missingParameter("model") }
        guard let limit = body["max_tokens"]?.intValue, limit >= 1, limit <= ChatCompletionRequest.maximumCompletionTokens
        else {
            throw .invalidRequest("max_tokens: must be an integer between 1 and "
                + "\(ChatCompletionRequest.maximumCompletionTokens).", param: "max_tokens")
        }
        guard let turns = body["messages"]?.arrayValue, !turns.isEmpty else { throw .missingParameter("messages") }
        let stream = try flag(body["stream"], "stream")
        var chat: JSONValue = ["model": .string(model), "max_tokens": .int(limit),
            "messages": [["role": "user", "content": "(passed through to Claude)"]]]
        if stream { chat["stream"] = true }
        return (chat, stream)
    }

    /// `stream` and other booleans: absent or null is false.
    static func flag(_ value: JSONValue?, _ name: String) throws(GatewayError) -> Bool {
        guard let value, !value.isNull else { return false }
        guard let flag = value.boolValue else { throw .invalidRequest("\(name): must be a boolean.", param: name) }
        return flag
    }

    /// A string, or a list of text blocks joined (the forms of `system` and of a tool result).
    static func text(of value: JSONValue, at path: String) throws(GatewayError) -> String {
        if let text = value.stringValue { return text }
        guard let blocks = value.arrayValue else {
            throw .invalidRequest("\(path): must be a string or a list of text blocks.", param: path)
        }
        var parts: [String] = []
        for (index, block) in blocks.enumerated() {
            guard block["type"]?.stringValue == "text", let text = block["text"]?.stringValue else {
                throw .invalidRequest("\(path).\(index): only text blocks can be carried here.", param: path)
            }
            parts.append(text)
        }
        return parts.joined(separator: "\n")
    }

    /// One Anthropic turn as chat messages: a user turn with tool results becomes one `tool` message
    /// per result (then a user message with the rest); an assistant turn one message with its calls.
    static func chatMessages(_ turn: JSONValue, at path: String) throws(GatewayError) -> [JSONValue] {
        guard let role = turn["role"]?.stringValue, role == "user" || role == "assistant" else {
            throw .invalidRequest("\(path).role: must be 'user' or 'assistant'.", param: "\(path).role")
        }
        guard let content = turn["content"] else { throw .missingParameter("\(path).content") }
        if let text = content.stringValue { return [["role": .string(role), "content": .string(text)]] }
        guard let blocks = content.arrayValue else {
            throw .invalidRequest("\(path).content: must be a string or a list of blocks.", param: "\(path).content")
        }
        var parts: [JSONValue] = []
        var results: [JSONValue] = []
        var calls: [JSONValue] = []
        for (index, block) in blocks.enumerated() {
            let at = "\(path).content.\(index)"
            switch block["type"]?.stringValue {
            case "text":
                guard let text = block["text"]?.stringValue else { throw .missingParameter("\(at).text") }
                parts.append(["type": "text", "text": .string(text)])
            case "image" where role == "user":
                parts.append(["type": "image_url", "image_url": ["url": .string(try imageURL(block, at: at))]])
            case "tool_use" where role == "assistant":
                guard let id = block["id"]?.stringValue, let name = block["name"]?.stringValue else {
                    throw .invalidRequest("\(at): a tool_use block needs an id and a name.", param: at)
                }
                let input = block["input"] ?? [:]
                guard input.objectValue != nil else {
                    throw .invalidRequest("\(at).input: must be an object.", param: "\(at).input")
                }
                calls.append(["id": .string(id), "type": "function",
                    "function": ["name": .string(name), "arguments": .string(input.jsonString)]])
            case "tool_result" where role == "user":
                guard let id = block["tool_use_id"]?.stringValue else { throw .missingParameter("\(at).tool_use_id") }
                // Its text answers the call; its images (a screenshot) follow in the user's turn.
                var output = ""
                if let content = block["content"], !content.isNull {
                    if let text = content.stringValue {
                        output = text
                    } else if let items = content.arrayValue {
                        var texts: [String] = []
                        for (item, part) in items.enumerated() {
                            let path = "\(at).content.\(item)"
                            switch part["type"]?.stringValue {
                            case "text":
                                guard let text = part["text"]?.stringValue else { throw .missingParameter("\(path).text") }
                                texts.append(text)
                            case "image":
                                parts.append(["type": "image_url", "image_url": ["url": .string(try imageURL(part, at: path))]])
                            default:
                                throw .invalidRequest("\(path): a tool result carries text and image blocks here.",
                                    param: path, code: "unsupported_content")
                            }
                        }
                        output = texts.joined(separator: "\n")
                    } else {
                        throw .invalidRequest("\(at).content: must be a string or a list of blocks.",
                            param: "\(at).content")
                    }
                }
                if block["is_error"]?.boolValue == true { output = "Error: " + output }
                results.append(["role": "tool", "tool_call_id": .string(id), "content": .string(output)])
            case "thinking", "redacted_thinking":
                continue
            case let type?:
                throw .invalidRequest("\(at): '\(type)' blocks in a \(role) turn cannot be carried to this model.",
                    param: at, code: "unsupported_content")
            case nil:
                throw .missingParameter("\(at).type")
            }
        }
        if role == "assistant" {
            var message: [String: JSONValue] = ["role": "assistant"]
            let text = parts.compactMap { $0["text"]?.stringValue }.joined()
            message["content"] = text.isEmpty && !calls.isEmpty ? .null : .string(text)
            if !calls.isEmpty { message["tool_calls"] = .array(calls) }
            return [.object(message)]
        }
        return results + (parts.isEmpty ? [] : [["role": "user", "content": .array(parts)]])
    }

    /// An image block's source as a URL: a `data:` URL for base64 data, the URL itself for `url`.
    static func imageURL(_ block: JSONValue, at path: String) throws(GatewayError) -> String {
        let source = block["source"]
        switch source?["type"]?.stringValue {
        case "base64":
            guard let media = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else {
                throw .invalidRequest("\(path).source: base64 images need media_type and data.", param: path)
            }
            return "data:\(media);base64,\(data)"
        case "url":
            guard let url = source?["url"]?.stringValue else { throw .missingParameter("\(path).source.url") }
            return url
        default:
            throw .invalidRequest("\(path).source: must be a base64 or url image source.", param: path)
        }
    }

    /// A client tool as an OpenAI function; server tools (`web_search_...`, `bash_...`) are refused.
    static func chatTool(_ tool: JSONValue, at path: String) throws(GatewayError) -> JSONValue {
        if let type = tool["type"]?.stringValue, type != "custom" {
            throw .invalidRequest("\(path): the server tool '\(type)' runs only on Anthropic's own models.",
                param: path, code: "unsupported_tool")
        }
        guard let name = tool["name"]?.stringValue, !name.isEmpty else { throw .missingParameter("\(path).name") }
        var function: [String: JSONValue] = ["name": .string(name), "parameters": tool["input_schema"] ?? ["type": "object"]]
        if let description = tool["description"]?.stringValue { function["description"] = .string(description) }
        return ["type": "function", "function": .object(function)]
    }

    /// `tool_choice` as OpenAI's, and `false` when parallel tool use is disabled.
    static func toolChoice(_ choice: JSONValue) throws(GatewayError) -> (JSONValue, Bool?) {
        let parallel = choice["disable_parallel_tool_use"]?.boolValue.map { !$0 }
        switch choice["type"]?.stringValue {
        case "auto": return ("auto", parallel)
        case "any": return ("required", parallel)
        case "none": return ("none", parallel)
        case "tool":
            guard let name = choice["name"]?.stringValue else { throw .missingParameter("tool_choice.name") }
            return (["type": "function", "function": ["name": .string(name)]], parallel)
        default:
            throw .invalidRequest("tool_choice.type: must be auto, any, tool or none.", param: "tool_choice")
        }
    }

    /// About four bytes a token over the text a model would read: system, messages and tools.
    static func estimatedInputTokens(_ body: JSONValue) -> Int {
        var bytes = 0
        for name in ["system", "messages", "tools"] {
            if let value = body[name] { bytes += value.jsonBytes.readableBytes }
        }
        return max(1, (bytes + 3) / 4)
    }
}
