import ScutumCore

/// Builds a Gemini `generateContent` body (Gemini API and Vertex AI alike) from an OpenAI chat request.
///
/// Roles become `user`/`model`, system messages `systemInstruction`, tool calls `functionCall`
/// parts and tool results `functionResponse` parts in a user turn; consecutive turns of one
/// speaker are merged. JSON mode and schemas go to `generationConfig.responseMimeType` and
/// `responseJsonSchema`.
enum GeminiRequest {
    static func body(_ input: ChatInput) throws(ProviderError) -> JSONValue {
        var body: [String: JSONValue] = ["contents": .array(try contents(input))]
        if !input.system.isEmpty {
            body["systemInstruction"] = ["parts": [["text": .string(input.system.joined(separator: "\n\n"))]]]
        }
        var config: [String: JSONValue] = [:]
        if let maxTokens = input.maxTokens { config["maxOutputTokens"] = .int(Int64(maxTokens)) }
        if let temperature = input.temperature { config["temperature"] = .double(temperature) }
        if let topP = input.topP { config["topP"] = .double(topP) }
        if !input.stop.isEmpty { config["stopSequences"] = .array(input.stop.map(JSONValue.string)) }
        switch input.responseFormat {
        case .text: break
        case .jsonObject:
            config["responseMimeType"] = "application/json"
        case .jsonSchema(_, let schema):
            config["responseMimeType"] = "application/json"
            config["responseJsonSchema"] = schema
        }
        if !config.isEmpty { body["generationConfig"] = .object(config) }

        if !input.tools.isEmpty {
            let declarations = input.tools.map { tool -> JSONValue in
                var fields: [String: JSONValue] = ["name": .string(tool.name), "parametersJsonSchema": tool.parameters]
                if let description = tool.description { fields["description"] = .string(description) }
                return .object(fields)
            }
            body["tools"] = [["functionDeclarations": .array(declarations)]]
        }
        if let choice = input.toolChoice, !input.tools.isEmpty {
            let calling: JSONValue = switch choice {
            case .auto: ["mode": "AUTO"]
            case .none: ["mode": "NONE"]
            case .required: ["mode": "ANY"]
            case .function(let name): ["mode": "ANY", "allowedFunctionNames": [.string(name)]]
            }
            body["toolConfig"] = ["functionCallingConfig": calling]
        }
        return .object(body)
    }

    /// The turns as Gemini `contents`.
    static func contents(_ input: ChatInput) throws(ProviderError) -> [JSONValue] {
        var turns = AlternatingTurns()
        for (index, message) in input.messages.enumerated() {
            switch message {
            case .user(let parts):
                turns.append("user", parts.map(part))
            case .assistant(let text, let calls):
                var parts: [JSONValue] = []
                if let text, !text.isEmpty { parts.append(["text": .string(text)]) }
                for (callIndex, call) in calls.enumerated() {
                    let args = try call.argumentsObject(
                        param: "messages[\(index)].tool_calls[\(callIndex)].function.arguments")
                    parts.append(["functionCall": ["name": .string(call.name), "args": args]])
                }
                turns.append("model", parts)
            case .tool(let callID, let name, let content):
                guard let name else {
                    throw ProviderError(.invalidRequest(param: "messages[\(index)].tool_call_id"),
                        "messages[\(index)] answers tool call '\(callID)', which no earlier assistant message made.")
                }
                let response: JSONValue
                if let parsed = try? RequestJSON.parse(Array(content.utf8)), parsed.objectValue != nil {
                    response = parsed
                } else {
                    response = ["content": .string(content)]
                }
                turns.append("user", [["functionResponse": ["name": .string(name), "response": response]]])
            }
        }
        return turns.json(contentKey: "parts")
    }

    static func part(_ part: ChatInput.Part) -> JSONValue {
        switch part {
        case .text(let text):
            return ["text": .string(text)]
        case .image(.inline(let mediaType, let data)):
            return ["inlineData": ["mimeType": .string(mediaType), "data": .string(data)]]
        case .image(.url(let url)):
            return ["fileData": ["mimeType": .string(mediaType(of: url)), "fileUri": .string(url)]]
        }
    }

    /// A media type guessed from a URL's extension, as Gemini needs one for `fileData`.
    static func mediaType(of url: String) -> String {
        let path = url.split(separator: "?").first.map(String.init)?.lowercased() ?? ""
        if path.hasSuffix(".png") { return "image/png" }
        if path.hasSuffix(".webp") { return "image/webp" }
        if path.hasSuffix(".gif") { return "image/gif" }
        if path.hasSuffix(".heic") { return "image/heic" }
        if path.hasSuffix(".pdf") { return "application/pdf" }
        return "image/jpeg"
    }
}
