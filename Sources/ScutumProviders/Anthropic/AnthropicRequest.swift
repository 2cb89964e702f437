import ScutumCore

/// Builds an Anthropic Messages API request body from an OpenAI chat request.
///
/// System and developer messages move to `system`; tool calls become `tool_use` blocks and tool
/// results `tool_result` blocks in a user turn; consecutive turns of one speaker are merged, as
/// Anthropic requires alternation. `response_format` becomes a forced tool whose input is the answer.
/// The caller's `cache_control` marks (on system parts, content parts, messages and tools) are
/// forwarded as they are; with a marked system part the system prompt goes as text blocks.
enum AnthropicRequest {
    /// The tool that carries a JSON answer when the client asked for `response_format`.
    static let jsonToolName = "json_tool_call"
    /// `max_tokens` is required by Anthropic; used when neither the client nor the catalog sets one.
    static let defaultMaxTokens = 4096

    /// The body. `model` is nil for Vertex, which takes the model in the URL and wants `anthropic_version`.
    static func body(_ input: ChatInput, model: String?, maxOutputTokens: Int?, vertexVersion: String? = nil)
        throws(ProviderError) -> JSONValue
    {
        var body: [String: JSONValue] = [
            "messages": .array(try messages(input)),
            "max_tokens": .int(Int64(input.maxTokens ?? min(maxOutputTokens ?? defaultMaxTokens, defaultMaxTokens))),
        ]
        if let model { body["model"] = .string(model) }
        if let vertexVersion { body["anthropic_version"] = .string(vertexVersion) }
        if input.stream { body["stream"] = true }
        if input.cache.marksSystem {
            body["system"] = .array(input.cache.system.map { block in
                marked(["type": "text", "text": .string(block.text)], block.mark)
            })
        } else if !input.system.isEmpty {
            body["system"] = .string(input.system.joined(separator: "\n\n"))
        }
        if let temperature = input.temperature { body["temperature"] = .double(temperature) }
        if let topP = input.topP { body["top_p"] = .double(topP) }
        if !input.stop.isEmpty { body["stop_sequences"] = .array(input.stop.map(JSONValue.string)) }

        var tools = input.tools.enumerated().map { index, tool -> JSONValue in
            var fields: [String: JSONValue] = ["name": .string(tool.name), "input_schema": tool.parameters]
            if let description = tool.description { fields["description"] = .string(description) }
            return marked(.object(fields), input.cache.tools[index])
        }
        var choice: [String: JSONValue]?
        switch input.toolChoice {
        case nil: break
        case .auto?: choice = ["type": "auto"]
        case .none?: choice = ["type": "none"]
        case .required?: choice = ["type": "any"]
        case .function(let name)?: choice = ["type": "tool", "name": .string(name)]
        }
        switch input.responseFormat {
        case .text: break
        case .jsonObject, .jsonSchema:
            tools.append(jsonTool(input.responseFormat))
            choice = ["type": "tool", "name": .string(jsonToolName)]
        }
        if !tools.isEmpty { body["tools"] = .array(tools) }
        if input.parallelToolCalls == false, !tools.isEmpty {
            var fields = choice ?? ["type": "auto"]
            fields["disable_parallel_tool_use"] = true
            choice = fields
        }
        if let choice { body["tool_choice"] = .object(choice) }
        if let user = input.user { body["metadata"] = ["user_id": .string(user)] }
        return .object(body)
    }

    static func jsonTool(_ format: ChatInput.ResponseFormat) -> JSONValue {
        let schema: JSONValue
        if case .jsonSchema(_, let given) = format { schema = given } else { schema = ["type": "object"] }
        return [
            "name": .string(jsonToolName),
            "description": "Respond with a JSON object that follows this schema.",
            "input_schema": schema,
        ]
    }

    /// The turns as Anthropic messages, merged so that roles alternate and the first is the user's.
    static func messages(_ input: ChatInput) throws(ProviderError) -> [JSONValue] {
        var turns = AlternatingTurns()
        for (index, message) in input.messages.enumerated() {
            var blocks: [JSONValue]
            switch message {
            case .user(let parts):
                let marks = input.cache.parts[index] ?? [:]
                blocks = parts.enumerated().map { partIndex, part in marked(block(part), marks[partIndex]) }
            case .assistant(let text, let calls):
                blocks = []
                if let text, !text.isEmpty { blocks.append(["type": "text", "text": .string(text)]) }
                for (callIndex, call) in calls.enumerated() {
                    let input = try call.argumentsObject(
                        param: "messages[\(index)].tool_calls[\(callIndex)].function.arguments")
                    blocks.append(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": input])
                }
            case .tool(let callID, _, let content):
                blocks = [["type": "tool_result", "tool_use_id": .string(callID), "content": .string(content)]]
            }
            if let mark = input.cache.messages[index], !blocks.isEmpty {
                blocks[blocks.count - 1] = marked(blocks[blocks.count - 1], mark)
            }
            turns.append(message.isAssistant ? "assistant" : "user", blocks)
        }
        turns.startWithUser(placeholder: ["type": "text", "text": "."])
        return turns.json(contentKey: "content")
    }

    /// `block` with the caller's `cache_control`, if any.
    static func marked(_ block: JSONValue, _ mark: JSONValue?) -> JSONValue {
        guard let mark else { return block }
        var block = block
        block["cache_control"] = mark
        return block
    }

    static func block(_ part: ChatInput.Part) -> JSONValue {
        switch part {
        case .text(let text):
            return ["type": "text", "text": .string(text)]
        case .image(.inline(let mediaType, let data)):
            return ["type": "image", "source": ["type": "base64", "media_type": .string(mediaType), "data": .string(data)]]
        case .image(.url(let url)):
            return ["type": "image", "source": ["type": "url", "url": .string(url)]]
        }
    }
}
