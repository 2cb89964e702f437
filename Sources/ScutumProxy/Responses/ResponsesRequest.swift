import ScutumCore

/// An OpenAI Responses API request (`POST /v1/responses`), read and checked: its input as items
/// (each with a type and an id, messages with content lists), the conversation fields, and the chat
/// request the pipeline serves for it (`chat(context:)`).
///
/// Carried onto chat: `instructions` (a system message), messages (`developer` as `system`; text,
/// images by URL or data URL, earlier `output_text` and `refusal`), `function_call` and
/// `function_call_output` items, function tools, `tool_choice`, `parallel_tool_calls`,
/// `text.format` (`json_schema`, `json_object`), `text.verbosity`, `reasoning.effort`,
/// `max_output_tokens`, `temperature`, `top_p`, `user`, `safety_identifier`, `prompt_cache_key`.
/// Reasoning items in the history are kept but not sent (chat has no place for them).
///
/// What chat cannot carry (hosted tools only OpenAI runs, files, item references) is kept in
/// `untranslatable`: such a request goes only to a provider with the Responses API, anything else
/// answers 400. Refused outright: stored prompts, `conversation` and `background`.
struct ResponsesRequest: Sendable {
    var model: String
    var stream: Bool
    /// Whether the response is kept (`store`, default true).
    var store: Bool
    var previousResponseID: String?
    var instructions: String?
    /// This request's input items, normalized, with ids.
    var inputItems: [JSONValue]
    /// The request's fields as the response object repeats them (tools, tool_choice, text...).
    var echo: [String: JSONValue]
    /// The chat request's fields besides `model`, `messages` and the stream options.
    private var chatFields: [String: JSONValue]
    /// What chat cannot carry (a hosted tool, a file...), the first of it: the request can then go
    /// only to a provider with the Responses API.
    var untranslatable: GatewayError?
    /// The body as the caller sent it (for a provider with the Responses API).
    var body: JSONValue

    /// The body for a provider's own Responses API: the caller's, the whole conversation as its
    /// `input` (earlier turns, then this one's), without `previous_response_id` (the gateway keeps
    /// the conversation; the provider is asked to keep nothing).
    func upstreamBody(context: [JSONValue]) -> JSONValue {
        var upstream = body
        upstream["input"] = .array(ResponseItems.upstream(context))
        upstream["previous_response_id"] = nil
        return upstream
    }

    /// Tool types only OpenAI's own servers run.
    static let hostedTools: Set<String> = [
        "web_search", "web_search_preview", "web_search_preview_2025_03_11", "file_search", "computer_use_preview",
        "computer_use", "code_interpreter", "image_generation", "mcp", "local_shell", "shell", "apply_patch",
    ]

    init(json body: JSONValue) throws(GatewayError) {
        guard let fields = body.objectValue else {
            throw .invalidRequest("The request body must be a JSON object.", code: nil)
        }
        guard let model = fields["model"]?.stringValue, !model.isEmpty else { throw .missingParameter("model") }
        try ModelName.check(model)
        self.model = model
        stream = try Self.flag(fields["stream"], "stream") ?? false
        store = try Self.flag(fields["store"], "store") ?? true
        for unsupported in ["background", "conversation", "prompt"] {
            guard let value = fields[unsupported], !value.isNull, value != false else { continue }
            throw .invalidRequest("\(unsupported): not supported by this gateway.", param: unsupported,
                code: "unsupported_parameter")
        }
        if let previous = fields["previous_response_id"], !previous.isNull {
            guard let id = previous.stringValue, !id.isEmpty else {
                throw .invalidRequest("previous_response_id: must be a string.", param: "previous_response_id")
            }
            previousResponseID = id
        }
        if let instructions = fields["instructions"], !instructions.isNull {
            guard let text = instructions.stringValue else {
                throw .invalidRequest("instructions: must be a string.", param: "instructions")
            }
            self.instructions = text
        }
        guard let input = fields["input"], !input.isNull else { throw .missingParameter("input") }
        self.body = body
        var untranslatable: GatewayError?
        inputItems = try ResponseItems.normalize(input, untranslatable: &untranslatable)

        var chat: [String: JSONValue] = [:]
        var echo: [String: JSONValue] = ["tools": [], "tool_choice": "auto", "parallel_tool_calls": true,
            "text": ["format": ["type": "text"]], "truncation": "disabled", "metadata": [:]]
        if let tools = fields["tools"], !tools.isNull {
            guard let list = tools.arrayValue else { throw .invalidRequest("tools: must be a list.", param: "tools") }
            var chatTools: [JSONValue] = []
            for (index, tool) in list.enumerated() {
                if let type = tool["type"]?.stringValue, Self.hostedTools.contains(type) {
                    untranslatable = untranslatable ?? .invalidRequest("tools.\(index): '\(type)' is a hosted tool only "
                        + "OpenAI runs; it cannot be carried over chat completions.", param: "tools.\(index).type",
                        code: "unsupported_tool")
                    continue
                }
                chatTools.append(try Self.chatTool(tool, at: "tools.\(index)"))
            }
            if !chatTools.isEmpty { chat["tools"] = .array(chatTools) }
            echo["tools"] = tools
        }
        if let choice = fields["tool_choice"], !choice.isNull {
            if let type = choice["type"]?.stringValue, Self.hostedTools.contains(type) {
                untranslatable = untranslatable ?? .invalidRequest("tool_choice: '\(type)' is a hosted tool only OpenAI "
                    + "runs.", param: "tool_choice", code: "unsupported_tool")
            } else {
                chat["tool_choice"] = try Self.chatToolChoice(choice)
            }
            echo["tool_choice"] = choice
        }
        if let parallel = try Self.flag(fields["parallel_tool_calls"], "parallel_tool_calls") {
            chat["parallel_tool_calls"] = .bool(parallel)
            echo["parallel_tool_calls"] = .bool(parallel)
        }
        if let text = fields["text"], !text.isNull {
            guard text.objectValue != nil else { throw .invalidRequest("text: must be an object.", param: "text") }
            if let format = text["format"], !format.isNull {
                if let responseFormat = try Self.responseFormat(format) { chat["response_format"] = responseFormat }
            }
            if let verbosity = text["verbosity"], !verbosity.isNull {
                guard verbosity.stringValue != nil else {
                    throw .invalidRequest("text.verbosity: must be a string.", param: "text.verbosity")
                }
                chat["verbosity"] = verbosity
            }
            echo["text"] = text
        }
        if let reasoning = fields["reasoning"], !reasoning.isNull {
            guard reasoning.objectValue != nil else {
                throw .invalidRequest("reasoning: must be an object.", param: "reasoning")
            }
            if let effort = reasoning["effort"], !effort.isNull {
                guard effort.stringValue != nil else {
                    throw .invalidRequest("reasoning.effort: must be a string.", param: "reasoning.effort")
                }
                chat["reasoning_effort"] = effort
            }
            echo["reasoning"] = reasoning
        }
        if let limit = fields["max_output_tokens"], !limit.isNull {
            guard let tokens = limit.intValue, tokens >= 1, tokens <= ChatCompletionRequest.maximumCompletionTokens else {
                throw .invalidRequest("max_output_tokens: must be an integer between 1 and "
                    + "\(ChatCompletionRequest.maximumCompletionTokens).", param: "max_output_tokens")
            }
            chat["max_completion_tokens"] = limit
            echo["max_output_tokens"] = limit
        }
        for name in ["temperature", "top_p"] {
            guard let value = fields[name], !value.isNull else { continue }
            guard value.doubleValue != nil else { throw .invalidRequest("\(name): must be a number.", param: name) }
            chat[name] = value
            echo[name] = value
        }
        for name in ["user", "safety_identifier", "prompt_cache_key"] {
            guard let value = fields[name], !value.isNull else { continue }
            guard value.stringValue != nil else { throw .invalidRequest("\(name): must be a string.", param: name) }
            chat[name] = value
            echo[name] = value
        }
        if let metadata = fields["metadata"], !metadata.isNull {
            guard let entries = metadata.objectValue, entries.count <= 16,
                entries.allSatisfy({ $0.key.count <= 64 && ($0.value.stringValue?.count ?? 513) <= 512 })
            else {
                throw .invalidRequest("metadata: at most 16 string values (keys up to 64 characters, values up to 512).",
                    param: "metadata")
            }
            echo["metadata"] = metadata
        }
        if let truncation = fields["truncation"], !truncation.isNull {
            guard let mode = truncation.stringValue, mode == "auto" || mode == "disabled" else {
                throw .invalidRequest("truncation: must be 'auto' or 'disabled'.", param: "truncation")
            }
            echo["truncation"] = truncation
        }
        chatFields = chat
        self.echo = echo
        self.untranslatable = untranslatable
    }

    /// The chat request for `context`: every item the model is given (earlier turns, then this input).
    func chat(context: [JSONValue]) throws(GatewayError) -> JSONValue {
        var messages: [JSONValue] = []
        if let instructions { messages.append(["role": "system", "content": .string(instructions)]) }
        messages += try ResponseItems.chatMessages(context)
        // Nothing chat can carry (the request can only pass through): a placeholder, for admission.
        if messages.isEmpty { messages.append(["role": "user", "content": "(passed through)"]) }
        var chat = chatFields
        chat["model"] = .string(model)
        chat["messages"] = .array(messages)
        if stream {
            chat["stream"] = true
            chat["stream_options"] = ["include_usage": true]
        }
        return .object(chat)
    }

    /// A boolean field: nil when absent or null.
    static func flag(_ value: JSONValue?, _ name: String) throws(GatewayError) -> Bool? {
        guard let value, !value.isNull else { return nil }
        guard let flag = value.boolValue else { throw .invalidRequest("\(name): must be a boolean.", param: name) }
        return flag
    }

    /// A Responses tool (`{"type":"function","name",...}`) as chat's; hosted tools are refused.
    static func chatTool(_ tool: JSONValue, at path: String) throws(GatewayError) -> JSONValue {
        guard let type = tool["type"]?.stringValue else { throw .missingParameter("\(path).type") }
        guard type == "function" else {
            if hostedTools.contains(type) {
                throw .invalidRequest("\(path): '\(type)' is a hosted tool only OpenAI runs; this gateway serves the "
                    + "Responses API over chat completions, where it cannot be carried.", param: "\(path).type",
                    code: "unsupported_tool")
            }
            throw .invalidRequest("\(path).type: unknown tool type '\(type)'.", param: "\(path).type")
        }
        guard let name = tool["name"]?.stringValue, !name.isEmpty else { throw .missingParameter("\(path).name") }
        var function: [String: JSONValue] = ["name": .string(name)]
        if let description = tool["description"], !description.isNull { function["description"] = description }
        if let parameters = tool["parameters"], !parameters.isNull {
            guard parameters.objectValue != nil else {
                throw .invalidRequest("\(path).parameters: must be a JSON schema object.", param: "\(path).parameters")
            }
            function["parameters"] = parameters
        }
        if let strict = tool["strict"], !strict.isNull { function["strict"] = strict }
        return ["type": "function", "function": .object(function)]
    }

    /// `tool_choice`: `auto`, `none`, `required`, or a function by name.
    static func chatToolChoice(_ choice: JSONValue) throws(GatewayError) -> JSONValue {
        if let mode = choice.stringValue {
            guard ["auto", "none", "required"].contains(mode) else {
                throw .invalidRequest("tool_choice: must be 'auto', 'none', 'required' or a function.", param: "tool_choice")
            }
            return choice
        }
        guard choice["type"]?.stringValue == "function", let name = choice["name"]?.stringValue else {
            throw .invalidRequest("tool_choice: only 'auto', 'none', 'required' and {\"type\":\"function\",\"name\":...} "
                + "can be carried.", param: "tool_choice")
        }
        return ["type": "function", "function": ["name": .string(name)]]
    }

    /// `text.format` as chat's `response_format` (nil for plain text).
    static func responseFormat(_ format: JSONValue) throws(GatewayError) -> JSONValue? {
        switch format["type"]?.stringValue {
        case "text": return nil
        case "json_object": return ["type": "json_object"]
        case "json_schema":
            guard let name = format["name"]?.stringValue, !name.isEmpty else {
                throw .missingParameter("text.format.name")
            }
            guard let schema = format["schema"], schema.objectValue != nil else {
                throw .missingParameter("text.format.schema")
            }
            var jsonSchema: [String: JSONValue] = ["name": .string(name), "schema": schema]
            if let strict = format["strict"], !strict.isNull { jsonSchema["strict"] = strict }
            if let description = format["description"], !description.isNull { jsonSchema["description"] = description }
            return ["type": "json_schema", "json_schema": .object(jsonSchema)]
        default:
            throw .invalidRequest("text.format.type: must be 'text', 'json_object' or 'json_schema'.",
                param: "text.format.type")
        }
    }
}
