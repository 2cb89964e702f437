import Foundation
import NIOCore

/// A validated `POST /v1/chat/completions` body.
///
/// The gateway keeps the caller's bytes so that fields it does not interpret reach
/// OpenAI-compatible providers unchanged (`upstreamBytes` splices in only `model`); the fields it
/// does interpret are checked here. The JSON tree (`body`) is built only when something reads it.
public struct ChatCompletionRequest: Sendable {
    private var source: RequestJSONBody
    /// The whole body as a tree, built on first read. Setting it (guardrail masking) makes the
    /// upstream body be written from the tree instead of the caller's bytes.
    public var body: [String: JSONValue] {
        get { source.tree }
        set { source = RequestJSONBody(tree: newValue) }
    }
    /// The caller's bytes, scanned, while `body` has not been replaced.
    public var document: JSONDocument? { source.document }
    /// The top-level members that are not objects or arrays, read without building `body`
    /// (for tracing attributes on the hot path).
    public var scalarMembers: [String: JSONValue] { source.scalars }
    /// The model name, group alias or provider alias the client asked for.
    public var model: String
    /// The conversation, each message a JSON object with at least a `role`.
    public var messages: [JSONValue] { body["messages"]?.arrayValue ?? [] }
    /// `stream: true`.
    public var stream: Bool
    /// `stream_options.include_usage`: the client wants the final usage chunk.
    public var includeUsage: Bool
    /// `max_completion_tokens`, or the older `max_tokens`.
    public var maxTokens: Int?

    /// The most completion tokens a request may allow (no model comes near it); larger values are
    /// refused rather than carried into token estimates and limits.
    public static let maximumCompletionTokens: Int64 = 1 << 31 - 1

    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]

    /// How deep a chat body is indexed: the messages' own members.
    static let indexedDepth = 3

    /// Validates a parsed body.
    public init(json: JSONValue) throws(GatewayError) {
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).", code: "invalid_type")
        }
        try self.init(json, source: RequestJSONBody(tree: body))
    }

    /// Validates the caller's bytes: a strict JSON object without duplicate top-level keys, read
    /// without building its tree.
    public init(bytes: ByteBuffer) throws(GatewayError) {
        let document = try RequestJSON.scan(bytes, indexedDepth: Self.indexedDepth)
        let root = ScannedValue.root(of: document)
        guard root.kind == .object else {
            throw .invalidRequest("The request body must be a JSON object, not \(root.typeName).", code: "invalid_type")
        }
        try self.init(root, source: RequestJSONBody(document: document))
    }

    private init(_ body: some JSONView, source: RequestJSONBody) throws(GatewayError) {
        self.source = source
        guard let modelValue = body.given("model") else { throw .missingParameter("model") }
        guard let model = modelValue.stringValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string.", param: "model", code: "invalid_type")
        }
        try ModelName.check(model)
        self.model = model

        guard let messagesValue = body.given("messages") else { throw .missingParameter("messages") }
        guard messagesValue.kind == .array else {
            throw .invalidRequest(
                "'messages' must be an array, not \(messagesValue.typeName).", param: "messages", code: "invalid_type")
        }
        let messages = messagesValue.elements
        guard !messages.isEmpty else {
            throw .invalidRequest("'messages' must contain at least one message.", param: "messages")
        }
        for (index, message) in messages.enumerated() {
            try Self.validate(message: message, at: index)
        }

        self.stream = try Self.optionalBool(body, "stream") ?? false
        if let options = body.given("stream_options") {
            guard options.kind == .object else {
                throw .invalidRequest("'stream_options' must be an object.", param: "stream_options", code: "invalid_type")
            }
            guard stream else {
                throw .invalidRequest(
                    "'stream_options' is only allowed when 'stream' is true.", param: "stream_options")
            }
            self.includeUsage = try Self.optionalBool(options, "include_usage", path: "stream_options.") ?? false
        } else {
            self.includeUsage = false
        }

        let maxCompletion = try Self.optionalInt(body, "max_completion_tokens", minimum: 1,
            maximum: Self.maximumCompletionTokens)
        let maxTokens = try Self.optionalInt(body, "max_tokens", minimum: 1, maximum: Self.maximumCompletionTokens)
        self.maxTokens = maxCompletion ?? maxTokens
        _ = try Self.optionalNumber(body, "temperature", range: 0...2)
        _ = try Self.optionalNumber(body, "top_p", range: 0...1)
        _ = try Self.optionalNumber(body, "presence_penalty", range: -2...2)
        _ = try Self.optionalNumber(body, "frequency_penalty", range: -2...2)
        _ = try Self.optionalInt(body, "n", minimum: 1, maximum: 128)
        if let stop = body.given("stop") {
            switch stop.kind {
            case .string: break
            case .array where stop.elements.count <= 4 && stop.elements.allSatisfy({ $0.kind == .string }): break
            default:
                throw .invalidRequest("'stop' must be a string or an array of up to 4 strings.", param: "stop")
            }
        }
        if let tools = body.given("tools"), tools.kind != .array {
            throw .invalidRequest("'tools' must be an array.", param: "tools", code: "invalid_type")
        }
    }

    /// The body to send a provider that speaks OpenAI's format: the caller's bytes with only the
    /// `model` value replaced (and, for streams with `forceUsage`, `stream_options.include_usage`
    /// set), key order and whitespace kept; written from the tree once `body` was replaced.
    public func upstreamBytes(model upstreamModel: String, forceUsage: Bool) -> ByteBuffer {
        let forcing = stream && forceUsage
        if let document, let spliced = document.replacingModel(with: upstreamModel, forcingUsage: forcing) {
            return spliced
        }
        return JSONValue.object(upstreamBody(model: upstreamModel, forceUsage: forceUsage)).jsonBytes
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

    static func validate(message fields: some JSONView, at index: Int) throws(GatewayError) {
        let param = "messages[\(index)]"
        guard fields.kind == .object else {
            throw .invalidRequest("\(param) must be an object, not \(fields.typeName).", param: param, code: "invalid_type")
        }
        guard let role = fields.member("role")?.stringValue else {
            throw .invalidRequest("\(param) is missing the string field 'role'.", param: "\(param).role",
                code: "missing_required_parameter")
        }
        guard roles.contains(role) else {
            throw .invalidRequest(
                "\(param).role '\(role)' is not one of system, developer, user, assistant, tool.",
                param: "\(param).role")
        }
        let content = fields.member("content")
        switch content?.kind ?? .null {
        case .string, .array: break
        case .null:
            let hasToolCalls = fields.given("tool_calls") != nil
            let hasFunctionCall = fields.given("function_call") != nil
            if role != "assistant" || !(hasToolCalls || hasFunctionCall) {
                if content == nil {
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
                "\(param).content must be a string or an array of content parts, not \(content?.typeName ?? "null").",
                param: "\(param).content", code: "invalid_type")
        }
        if role == "tool", fields.member("tool_call_id")?.kind != .string {
            throw .invalidRequest("\(param) with role 'tool' needs a string 'tool_call_id'.",
                param: "\(param).tool_call_id", code: "missing_required_parameter")
        }
    }

    static func optionalBool(_ body: some JSONView, _ key: String, path: String = "") throws(GatewayError) -> Bool? {
        guard let value = body.given(key) else { return nil }
        guard let bool = value.tree.boolValue else {
            throw .invalidRequest("'\(path)\(key)' must be a boolean, not \(value.typeName).", param: path + key,
                code: "invalid_type")
        }
        return bool
    }

    static func optionalInt(_ body: some JSONView, _ key: String, minimum: Int64, maximum: Int64 = .max)
        throws(GatewayError) -> Int?
    {
        guard let value = body.given(key) else { return nil }
        guard let int = value.tree.intValue else {
            throw .invalidRequest("'\(key)' must be an integer, not \(value.typeName).", param: key, code: "invalid_type")
        }
        guard int >= minimum && int <= maximum else {
            // A bound far above any real value (max_tokens') is named only when it is passed.
            let wide = maximum >= Self.maximumCompletionTokens
            let bound = wide ? (int < minimum ? "at least \(minimum)" : "at most \(maximum)") : "between \(minimum) and \(maximum)"
            throw .invalidRequest("'\(key)' must be \(bound); got \(int).", param: key)
        }
        return Int(int)
    }

    static func optionalNumber(_ body: some JSONView, _ key: String, range: ClosedRange<Double>)
        throws(GatewayError) -> Double?
    {
        guard let value = body.given(key) else { return nil }
        guard let number = value.tree.doubleValue else {
            throw .invalidRequest("'\(key)' must be a number, not \(value.typeName).", param: key, code: "invalid_type")
        }
        guard range.contains(number) else {
            throw .invalidRequest(
                "'\(key)' must be between \(range.lowerBound) and \(range.upperBound); got \(number).", param: key)
        }
        return number
    }
}

/// A validated `POST /v1/embeddings` body, kept as the caller's bytes like `ChatCompletionRequest`.
public struct EmbeddingRequest: Sendable {
    private var source: RequestJSONBody
    /// The whole body as a tree, built on first read; setting it makes the upstream body be
    /// written from the tree.
    public var body: [String: JSONValue] {
        get { source.tree }
        set { source = RequestJSONBody(tree: newValue) }
    }
    /// The caller's bytes, scanned, while `body` has not been replaced.
    public var document: JSONDocument? { source.document }
    /// The top-level members that are not objects or arrays, read without building `body`
    /// (for tracing attributes on the hot path).
    public var scalarMembers: [String: JSONValue] { source.scalars }
    public var model: String
    /// How many inputs the request embeds.
    public var inputCount: Int

    /// How deep an embeddings body is indexed: the elements of token arrays.
    static let indexedDepth = 3

    public init(json: JSONValue) throws(GatewayError) {
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).", code: "invalid_type")
        }
        try self.init(json, source: RequestJSONBody(tree: body))
    }

    /// Validates the caller's bytes as `ChatCompletionRequest(bytes:)` does.
    public init(bytes: ByteBuffer) throws(GatewayError) {
        let document = try RequestJSON.scan(bytes, indexedDepth: Self.indexedDepth)
        let root = ScannedValue.root(of: document)
        guard root.kind == .object else {
            throw .invalidRequest("The request body must be a JSON object, not \(root.typeName).", code: "invalid_type")
        }
        try self.init(root, source: RequestJSONBody(document: document))
    }

    private init(_ body: some JSONView, source: RequestJSONBody) throws(GatewayError) {
        self.source = source
        guard let modelValue = body.given("model") else { throw .missingParameter("model") }
        guard let model = modelValue.stringValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string.", param: "model", code: "invalid_type")
        }
        try ModelName.check(model)
        self.model = model
        guard let input = body.given("input") else { throw .missingParameter("input") }
        switch input.kind {
        case .string:
            guard input.stringValue?.isEmpty == false else {
                throw .invalidRequest("'input' must not be empty.", param: "input")
            }
            inputCount = 1
        case .array:
            let items = input.elements
            guard !items.isEmpty else { throw .invalidRequest("'input' must not be an empty array.", param: "input") }
            let allStrings = items.allSatisfy { $0.kind == .string }
            let allTokens = items.allSatisfy { $0.kind == .number && $0.tree.intValue != nil }
            let allTokenArrays = items.allSatisfy { item in
                item.kind == .array && item.elements.allSatisfy { $0.kind == .number && $0.tree.intValue != nil }
            }
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
        if let format = body.given("encoding_format") {
            guard let name = format.stringValue, name == "float" || name == "base64" else {
                throw .invalidRequest("'encoding_format' must be 'float' or 'base64'.", param: "encoding_format")
            }
        }
    }

    /// The body to send a provider that speaks OpenAI's format: the caller's bytes with only the
    /// `model` value replaced; written from the tree once `body` was replaced.
    public func upstreamBytes(model upstreamModel: String) -> ByteBuffer {
        if let document, let spliced = document.replacingModel(with: upstreamModel, forcingUsage: false) {
            return spliced
        }
        return JSONValue.object(upstreamBody(model: upstreamModel)).jsonBytes
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
    /// Scans a request body (see `JSONDocument`), refusing what `parse` refuses and also duplicate
    /// top-level keys, so the `model` that was checked is the one a provider reads.
    public static func scan(_ bytes: ByteBuffer, indexedDepth: Int) throws(GatewayError) -> JSONDocument {
        guard bytes.readableBytes > 0 else { throw .invalidJSON("the body is empty") }
        let document: JSONDocument
        do {
            document = try JSONDocument(scanning: bytes, indexedDepth: indexedDepth)
        } catch {
            throw .invalidJSON(error.description)
        }
        if document.kind == .object, let duplicate = document.duplicateMember() {
            let offset = document.entries[duplicate].key.lowerBound - 1
            throw .invalidJSON("Duplicate key '\(document.key(of: duplicate))' at byte \(offset)")
        }
        return document
    }

    public static func parse(_ data: some Collection<UInt8>) throws(GatewayError) -> JSONValue {
        guard !data.isEmpty else { throw .invalidJSON("the body is empty") }
        do {
            return try JSONParser.parse(data)
        } catch {
            throw .invalidJSON(error.description)
        }
    }
}

/// The bound on a requested model's name: a client's string becomes a metric label, a cache key and
/// a stored field, so anything longer than any real model name is refused before it reaches them.
public enum ModelName {
    /// Longest accepted `model`, in UTF-8 bytes.
    public static let maximumBytes = 256

    /// Throws 400 `invalid_request_error` for a name over `maximumBytes`.
    public static func check(_ model: String) throws(GatewayError) {
        guard model.utf8.count <= maximumBytes else {
            throw .invalidRequest("'model' is longer than \(maximumBytes) bytes.", param: "model", code: "invalid_value")
        }
    }
}
