import ScutumCore

/// Builds a Bedrock Converse / ConverseStream body from an OpenAI chat request.
///
/// Images must be inline (`data:` URLs): Converse takes bytes, not URLs. `response_format` becomes
/// a forced tool whose input is the answer, as for Anthropic. Converse has no "none" tool choice,
/// so `tool_choice: "none"` leaves the choice to the model. The caller's `cache_control` marks
/// become `cachePoint` blocks placed right after the marked system block, content block or tool.
enum BedrockConverseRequest {
    static func body(_ input: ChatInput) throws(ProviderError) -> JSONValue {
        var body: [String: JSONValue] = ["messages": .array(try messages(input))]
        if input.cache.marksSystem {
            body["system"] = .array(input.cache.system.flatMap { block in
                withCachePoint(["text": .string(block.text)], block.mark)
            })
        } else if !input.system.isEmpty {
            body["system"] = .array(input.system.map { ["text": .string($0)] })
        }
        var config: [String: JSONValue] = [:]
        if let maxTokens = input.maxTokens { config["maxTokens"] = .int(Int64(maxTokens)) }
        if let temperature = input.temperature { config["temperature"] = .double(temperature) }
        if let topP = input.topP { config["topP"] = .double(topP) }
        if !input.stop.isEmpty { config["stopSequences"] = .array(input.stop.map(JSONValue.string)) }
        if !config.isEmpty { body["inferenceConfig"] = .object(config) }

        var tools = input.tools.enumerated().flatMap { index, tool -> [JSONValue] in
            var spec: [String: JSONValue] = ["name": .string(tool.name), "inputSchema": ["json": tool.parameters]]
            if let description = tool.description { spec["description"] = .string(description) }
            return withCachePoint(["toolSpec": .object(spec)], input.cache.tools[index])
        }
        var choice: JSONValue?
        switch input.toolChoice {
        case .auto?: choice = ["auto": [:]]
        case .required?: choice = ["any": [:]]
        case .function(let name)?: choice = ["tool": ["name": .string(name)]]
        case .none?, nil: break
        }
        if input.responseFormat != .text {
            let schema: JSONValue
            if case .jsonSchema(_, let given) = input.responseFormat { schema = given } else { schema = ["type": "object"] }
            tools.append(["toolSpec": [
                "name": .string(AnthropicRequest.jsonToolName),
                "description": "Respond with a JSON object that follows this schema.",
                "inputSchema": ["json": schema],
            ]])
            choice = ["tool": ["name": .string(AnthropicRequest.jsonToolName)]]
        }
        if !tools.isEmpty {
            var toolConfig: [String: JSONValue] = ["tools": .array(tools)]
            if let choice { toolConfig["toolChoice"] = choice }
            body["toolConfig"] = .object(toolConfig)
        }
        return .object(body)
    }

    static func messages(_ input: ChatInput) throws(ProviderError) -> [JSONValue] {
        var turns = AlternatingTurns()
        for (index, message) in input.messages.enumerated() {
            var blocks: [JSONValue] = []
            switch message {
            case .user(let parts):
                let marks = input.cache.parts[index] ?? [:]
                for (partIndex, part) in parts.enumerated() {
                    blocks += withCachePoint(try block(part, param: "messages[\(index)].content[\(partIndex)]"),
                        marks[partIndex])
                }
            case .assistant(let text, let calls):
                if let text, !text.isEmpty { blocks.append(["text": .string(text)]) }
                for (callIndex, call) in calls.enumerated() {
                    let input = try call.argumentsObject(
                        param: "messages[\(index)].tool_calls[\(callIndex)].function.arguments")
                    blocks.append(["toolUse": ["toolUseId": .string(call.id), "name": .string(call.name), "input": input]])
                }
            case .tool(let callID, _, let content):
                let result: JSONValue
                if let parsed = try? RequestJSON.parse(Array(content.utf8)), parsed.objectValue != nil {
                    result = ["json": parsed]
                } else {
                    result = ["text": .string(content)]
                }
                blocks = [["toolResult": ["toolUseId": .string(callID), "content": [result]]]]
            }
            if let mark = input.cache.messages[index], !blocks.isEmpty { blocks += [cachePoint(mark)] }
            turns.append(message.isAssistant ? "assistant" : "user", blocks)
        }
        turns.startWithUser(placeholder: ["text": "."])
        return turns.json(contentKey: "content")
    }

    /// `block`, then a `cachePoint` when the caller marked it.
    static func withCachePoint(_ block: JSONValue, _ mark: JSONValue?) -> [JSONValue] {
        guard let mark else { return [block] }
        return [block, cachePoint(mark)]
    }

    /// Converse's breakpoint for an Anthropic `cache_control` mark: `{"cachePoint":{"type":"default"}}`,
    /// with the mark's `ttl` (`5m` or `1h`) when it has one.
    static func cachePoint(_ mark: JSONValue) -> JSONValue {
        var point: [String: JSONValue] = ["type": "default"]
        if let ttl = mark["ttl"]?.stringValue { point["ttl"] = .string(ttl) }
        return ["cachePoint": .object(point)]
    }

    static func block(_ part: ChatInput.Part, param: String) throws(ProviderError) -> JSONValue {
        switch part {
        case .text(let text):
            return ["text": .string(text)]
        case .image(.inline(let mediaType, let data)):
            let format = mediaType.lowercased().replacingOccurrences(of: "image/", with: "")
            let known = ["png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"]
            guard let name = known[format] else {
                throw ProviderError(.invalidRequest(param: param),
                    "\(param): Bedrock accepts png, jpeg, gif and webp images, not '\(mediaType)'.")
            }
            return ["image": ["format": .string(name), "source": ["bytes": .string(data)]]]
        case .image(.url):
            throw ProviderError(.invalidRequest(param: param + ".image_url.url"),
                "\(param): Bedrock needs images inline, as data URLs (data:image/png;base64,...), not remote URLs.")
        }
    }
}
