import Foundation

/// A validated `POST /v1/chat/completions` body.
///
/// The gateway keeps the whole JSON object so that fields it does not interpret reach
/// OpenAI-compatible providers unchanged; the fields it does interpret are checked here.
public struct ChatCompletionRequest: Sendable {
    /// The whole body as the client sent it.
    public var body: [String: JSONValue]
    /// The model name, group alias or provider alias the client asked for.
    public var model: String
    /// The conversation, each message a JSON object with at least a `role`.
    public var messages: [JSONValue]
    /// `stream: true`.
    public var stream: Bool
    /// `stream_options.include_usage`: the client wants the final usage chunk.
    public var includeUsage: Bool
    /// `max_completion_tokens`, or the older `max_tokens`.
    public var maxTokens: Int?

    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]

    /// Validates a parsed body.
    public init(json: JSONValue) throws(GatewayError) {
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).", code: "invalid_type")
        }
        self.body = body
        guard let modelValue = body["model"], !modelValue.isNull else { throw .missingParameter("model") }
        guard let model = modelValue.stringValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string.", param: "model", code: "invalid_type")
        }
        self.model = model

        guard let messagesValue = body["messages"], !messagesValue.isNull else { throw .missingParameter("messages") }
        guard let messages = messagesValue.arrayValue else {
            throw .invalidRequest(
                "'messages' must be an array, not \(messagesValue.typeName).", param: "messages", code: "invalid_type")
        }
        guard !messages.isEmpty else {
            throw .invalidRequest("'messages' must contain at least one message.", param: "messages")
        }
        for (index, message) in messages.enumerated() {
            try Self.validate(message: message, at: index)
        }
        self.messages = messages

        self.stream = try Self.optionalBool(body, "stream") ?? false
        if let options = body["stream_options"], !options.isNull {
            guard let fields = options.objectValue else {
                throw .invalidRequest("'stream_options' must be an object.", param: "stream_options", code: "invalid_type")
            }
            guard stream else {
                throw .invalidRequest(
                    "'stream_options' is only allowed when 'stream' is true.", param: "stream_options")
            }
            self.includeUsage = try Self.optionalBool(fields, "include_usage", path: "stream_options.") ?? false
        } else {
            self.includeUsage = false
        }

        let maxCompletion = try Self.optionalInt(body, "max_completion_tokens", minimum: 1)
        let maxTokens = try Self.optionalInt(body, "max_tokens", minimum: 1)
        self.maxTokens = maxCompletion ?? maxTokens
        _ = try Self.optionalNumber(body, "temperature", range: 0...2)
        _ = try Self.optionalNumber(body, "top_p", range: 0...1)
        _ = try Self.optionalNumber(body, "presence_penalty", range: -2...2)
        _ = try Self.optionalNumber(body, "frequency_penalty", range: -2...2)
        _ = try Self.optionalInt(body, "n", minimum: 1, maximum: 128)
        if let stop = body["stop"], !stop.isNull {
            switch stop {
            case .string: break
            case .array(let items) where items.count <= 4 && items.allSatisfy({ $0.stringValue != nil }): break
            default:
                throw .invalidRequest("'stop' must be a string or an array of up to 4 strings.", param: "stop")
            }
        }
        if let tools = body["tools"], !tools.isNull, tools.arrayValue == nil {
            throw .invalidRequest("'tools' must be an array.", param: "tools", code: "invalid_type")
        }
    }

    /// The body with `model` replaced, for providers that speak OpenAI's format.
    public func upstreamBody(model upstreamModel: String, forceUsage: Bool) -> [String: JSONValue] {
        var body = self.body
        body["model"] = .string(upstreamModel)
        if stream && forceUsage {
            var options = body["stream_options"]?.objectValue ?? [:]
            options["include_usage"] = true
            body["stream_options"] = .object(options)
        }
        return body
    }

    static func validate(message: JSONValue, at index: Int) throws(GatewayError) {
        let param = "messages[\(index)]"
        guard let fields = message.objectValue else {
            throw .invalidRequest("\(param) must be an object, not \(message.typeName).", param: param, code: "invalid_type")
        }
        guard let role = fields["role"]?.stringValue else {
            throw .invalidRequest("\(param) is missing the string field 'role'.", param: "\(param).role",
                code: "missing_required_parameter")
        }
        guard roles.contains(role) else {
            throw .invalidRequest(
                "\(param).role '\(role)' is not one of system, developer, user, assistant, tool.",
                param: "\(param).role")
        }
        let content = fields["content"] ?? .null
        switch content {
        case .string, .array: break
        case .null:
            let hasToolCalls = fields["tool_calls"].map { !$0.isNull } ?? false
            let hasFunctionCall = fields["function_call"].map { !$0.isNull } ?? false
            if role != "assistant" || !(hasToolCalls || hasFunctionCall) {
                if fields["content"] == nil {
                    throw .invalidRequest("\(param) is missing 'content'.", param: "\(param).content",
                        code: "missing_required_parameter")
                }
                if role != "assistant" {
                    throw .invalidRequest("\(param).content must not be null for role '\(role)'.",
                        param: "\(param).content")
                }
            }
        default:
            throw .invalidRequest(
                "\(param).content must be a string or an array of content parts, not \(content.typeName).",
                param: "\(param).content", code: "invalid_type")
        }
        if role == "tool", fields["tool_call_id"]?.stringValue == nil {
            throw .invalidRequest("\(param) with role 'tool' needs a string 'tool_call_id'.",
                param: "\(param).tool_call_id", code: "missing_required_parameter")
        }
    }

    static func optionalBool(_ body: [String: JSONValue], _ key: String, path: String = "") throws(GatewayError) -> Bool? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let bool = value.boolValue else {
            throw .invalidRequest("'\(path)\(key)' must be a boolean, not \(value.typeName).", param: path + key,
                code: "invalid_type")
        }
        return bool
    }

    static func optionalInt(_ body: [String: JSONValue], _ key: String, minimum: Int64, maximum: Int64 = .max)
        throws(GatewayError) -> Int?
    {
        guard let value = body[key], !value.isNull else { return nil }
        guard let int = value.intValue else {
            throw .invalidRequest("'\(key)' must be an integer, not \(value.typeName).", param: key, code: "invalid_type")
        }
        guard int >= minimum && int <= maximum else {
            let bound = maximum == .max ? "at least \(minimum)" : "between \(minimum) and \(maximum)"
            throw .invalidRequest("'\(key)' must be \(bound); got \(int).", param: key)
        }
        return Int(int)
    }

    static func optionalNumber(_ body: [String: JSONValue], _ key: String, range: ClosedRange<Double>)
        throws(GatewayError) -> Double?
    {
        guard let value = body[key], !value.isNull else { return nil }
        guard let number = value.doubleValue else {
            throw .invalidRequest("'\(key)' must be a number, not \(value.typeName).", param: key, code: "invalid_type")
        }
        guard range.contains(number) else {
            throw .invalidRequest(
                "'\(key)' must be between \(range.lowerBound) and \(range.upperBound); got \(number).", param: key)
        }
        return number
    }
}

/// A validated `POST /v1/embeddings` body.
public struct EmbeddingRequest: Sendable {
    public var body: [String: JSONValue]
    public var model: String
    /// How many inputs the request embeds.
    public var inputCount: Int

    public init(json: JSONValue) throws(GatewayError) {
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).", code: "invalid_type")
        }
        self.body = body
        guard let modelValue = body["model"], !modelValue.isNull else { throw .missingParameter("model") }
        guard let model = modelValue.stringValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string.", param: "model", code: "invalid_type")
        }
        self.model = model
        guard let input = body["input"], !input.isNull else { throw .missingParameter("input") }
        switch input {
        case .string(let text):
            guard !text.isEmpty else { throw .invalidRequest("'input' must not be empty.", param: "input") }
            inputCount = 1
        case .array(let items):
            guard !items.isEmpty else { throw .invalidRequest("'input' must not be an empty array.", param: "input") }
            let allStrings = items.allSatisfy { $0.stringValue != nil }
            let allTokens = items.allSatisfy { $0.intValue != nil }
            let allTokenArrays = items.allSatisfy { $0.arrayValue?.allSatisfy { $0.intValue != nil } ?? false }
            guard allStrings || allTokens || allTokenArrays else {
                throw .invalidRequest(
                    "'input' must be a string, an array of strings, or token arrays.", param: "input",
                    code: "invalid_type")
            }
            guard items.count <= 2048 else {
                throw .invalidRequest("'input' may hold at most 2048 items; got \(items.count).", param: "input")
            }
            inputCount = allTokens ? 1 : items.count
        default:
            throw .invalidRequest("'input' must be a string or an array, not \(input.typeName).", param: "input",
                code: "invalid_type")
        }
        if let format = body["encoding_format"], !format.isNull {
            guard let name = format.stringValue, name == "float" || name == "base64" else {
                throw .invalidRequest("'encoding_format' must be 'float' or 'base64'.", param: "encoding_format")
            }
        }
    }

    /// The body with `model` replaced by the provider's model id.
    public func upstreamBody(model upstreamModel: String) -> [String: JSONValue] {
        var body = self.body
        body["model"] = .string(upstreamModel)
        return body
    }
}

/// Decodes a request body into a `JSONValue`, mapping parse failures to a clear 400.
public enum RequestJSON {
    public static func parse(_ data: some Collection<UInt8>) throws(GatewayError) -> JSONValue {
        guard !data.isEmpty else { throw .invalidJSON("the body is empty") }
        do {
            return try JSONParser.parse(data)
        } catch {
            throw .invalidJSON(error.description)
        }
    }
}
