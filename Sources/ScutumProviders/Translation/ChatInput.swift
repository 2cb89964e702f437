import Foundation
import ScutumCore

/// An OpenAI chat request taken apart into what native provider formats need: system text,
/// turns with typed content, tools and sampling parameters.
///
/// Built once per call by adapters that translate (Anthropic, Gemini, Bedrock); anything the
/// client sent that no provider format can carry is refused here with a 400 naming the field.
struct ChatInput: Sendable {
    /// One piece of a user (or assistant) message.
    enum Part: Sendable, Equatable {
        case text(String)
        case image(ImageSource)
    }

    /// Where an image content part's bytes are.
    enum ImageSource: Sendable, Equatable {
        /// A `data:` URL, already split.
        case inline(mediaType: String, base64: String)
        /// An `http(s)://` or `gs://` URL the provider fetches itself.
        case url(String)
    }

    /// A function call the assistant made earlier in the conversation.
    struct ToolCall: Sendable, Equatable {
        var id: String
        var name: String
        /// The arguments as the JSON text OpenAI carries.
        var arguments: String

        /// The arguments parsed; an object, or `{}` when the text is empty.
        func argumentsObject(param: String) throws(ProviderError) -> JSONValue {
            let trimmed = arguments.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { return .object([:]) }
            guard let value = try? RequestJSON.parse(Array(trimmed.utf8)), value.objectValue != nil else {
                throw ProviderError(.invalidRequest(param: param),
                    "\(param) must be a JSON object encoded as a string; got \(trimmed.prefix(80)).")
            }
            return value
        }
    }

    /// One turn of the conversation, system messages excluded.
    enum Message: Sendable, Equatable {
        case user([Part])
        case assistant(text: String?, toolCalls: [ToolCall])
        /// A tool's result; `name` is the function called, found from the matching assistant call.
        case tool(callID: String, name: String?, content: String)

        /// Whether the assistant spoke this turn.
        var isAssistant: Bool {
            if case .assistant = self { return true }
            return false
        }
    }

    /// A function the model may call.
    struct Tool: Sendable, Equatable {
        var name: String
        var description: String?
        /// JSON Schema of the arguments.
        var parameters: JSONValue
    }

    enum ToolChoice: Sendable, Equatable {
        case auto, none, required
        case function(String)
    }

    enum ResponseFormat: Sendable, Equatable {
        case text
        case jsonObject
        case jsonSchema(name: String, schema: JSONValue)
    }

    /// System and developer messages, each one text (its parts joined by newlines).
    var system: [String] = []
    var messages: [Message] = []
    /// The prompt-cache breakpoints the caller placed, and the system text blocks they sit on.
    var cache = CacheMarks()
    var maxTokens: Int?
    var temperature: Double?
    var topP: Double?
    var stop: [String] = []
    var tools: [Tool] = []
    var toolChoice: ToolChoice?
    var responseFormat: ResponseFormat = .text
    /// `parallel_tool_calls`, when the client set it.
    var parallelToolCalls: Bool?
    /// `user`, the client's end-user id.
    var user: String?
    var stream: Bool
    var includeUsage: Bool

    init(_ request: ChatCompletionRequest) throws(ProviderError) {
        let body = request.body
        stream = request.stream
        includeUsage = request.includeUsage
        maxTokens = request.maxTokens
        temperature = body["temperature"]?.doubleValue
        topP = body["top_p"]?.doubleValue
        switch body["stop"] {
        case .string(let text)?: stop = [text]
        case .array(let items)?: stop = items.compactMap(\.stringValue)
        default: break
        }
        if let n = body["n"]?.intValue, n > 1 {
            throw ProviderError(.invalidRequest(param: "n"), "'n' greater than 1 is not supported for this model.")
        }
        tools = try Self.tools(body["tools"], marks: &cache.tools)
        toolChoice = try Self.toolChoice(body["tool_choice"], tools: tools)
        responseFormat = try Self.responseFormat(body["response_format"])
        parallelToolCalls = body["parallel_tool_calls"]?.boolValue
        user = body["user"]?.stringValue

        var callNames: [String: String] = [:]
        for (index, message) in request.messages.enumerated() {
            let param = "messages[\(index)]"
            let fields = message.objectValue ?? [:]
            let role = fields["role"]?.stringValue ?? ""
            let messageMark = try CacheMarks.mark(in: message, param: param)
            switch role {
            case "system", "developer":
                var blocks = try Self.textBlocks(of: fields["content"], param: param + ".content")
                if let messageMark, !blocks.isEmpty { blocks[blocks.count - 1].mark = messageMark }
                let text = blocks.map(\.text).joined(separator: "\n")
                if !text.isEmpty {
                    system.append(text)
                    cache.system.append(contentsOf: blocks.filter { !$0.text.isEmpty || $0.mark != nil })
                }
            case "user":
                let (parts, marks) = try Self.parts(of: fields["content"], param: param + ".content")
                if !marks.isEmpty { cache.parts[messages.count] = marks }
                if let messageMark { cache.messages[messages.count] = messageMark }
                messages.append(.user(parts))
            case "assistant":
                var calls: [ToolCall] = []
                for (callIndex, call) in (fields["tool_calls"]?.arrayValue ?? []).enumerated() {
                    let callParam = "\(param).tool_calls[\(callIndex)]"
                    guard let id = call["id"]?.stringValue, let function = call["function"],
                        let name = function["name"]?.stringValue
                    else {
                        throw ProviderError(.invalidRequest(param: callParam),
                            "\(callParam) needs 'id' and 'function.name'.")
                    }
                    let arguments = function["arguments"]?.stringValue ?? ""
                    calls.append(ToolCall(id: id, name: name, arguments: arguments))
                    callNames[id] = name
                }
                if let legacy = fields["function_call"], let name = legacy["name"]?.stringValue {
                    let id = "call_\(index)"
                    calls.append(ToolCall(id: id, name: name, arguments: legacy["arguments"]?.stringValue ?? ""))
                    callNames[id] = name
                }
                let blocks = try Self.textBlocks(of: fields["content"], param: param + ".content")
                if let mark = messageMark ?? blocks.last(where: { $0.mark != nil })?.mark { cache.messages[messages.count] = mark }
                let text = blocks.map(\.text).joined(separator: "\n")
                messages.append(.assistant(text: text.isEmpty ? nil : text, toolCalls: calls))
            case "tool", "function":
                let blocks = try Self.textBlocks(of: fields["content"], param: param + ".content")
                if let mark = messageMark ?? blocks.last(where: { $0.mark != nil })?.mark { cache.messages[messages.count] = mark }
                let content = blocks.map(\.text).joined(separator: "\n")
                if role == "tool" {
                    let id = fields["tool_call_id"]?.stringValue ?? ""
                    messages.append(.tool(callID: id, name: callNames[id], content: content))
                } else {
                    let name = fields["name"]?.stringValue ?? ""
                    let id = callNames.first(where: { $0.value == name })?.key ?? "call_\(name)"
                    messages.append(.tool(callID: id, name: name, content: content))
                }
            default:
                throw ProviderError(.invalidRequest(param: param + ".role"), "\(param).role '\(role)' is not supported.")
            }
        }
        if messages.isEmpty {
            throw ProviderError(.invalidRequest(param: "messages"),
                "'messages' must contain at least one user, assistant or tool message besides system messages.")
        }
    }

    /// The text blocks of a message's content: a string, or the text parts of an array, each with
    /// its `cache_control`.
    static func textBlocks(of content: JSONValue?, param: String) throws(ProviderError) -> [CacheMarks.SystemBlock] {
        switch content {
        case nil, .null?: return []
        case .string(let text)?: return [CacheMarks.SystemBlock(text: text)]
        case .array(let items)?:
            var pieces: [CacheMarks.SystemBlock] = []
            for (index, item) in items.enumerated() {
                guard let type = item["type"]?.stringValue else {
                    throw ProviderError(.invalidRequest(param: "\(param)[\(index)]"),
                        "\(param)[\(index)] is missing 'type'.")
                }
                guard type == "text", let text = item["text"]?.stringValue else {
                    throw ProviderError(.invalidRequest(param: "\(param)[\(index)]"),
                        "\(param)[\(index)] of type '\(type)' is not allowed here; only text parts are.")
                }
                pieces.append(CacheMarks.SystemBlock(text: text,
                    mark: try CacheMarks.mark(in: item, param: "\(param)[\(index)]")))
            }
            return pieces
        default:
            throw ProviderError(.invalidRequest(param: param), "\(param) must be a string or an array of parts.")
        }
    }

    /// The parts of a user message, and the `cache_control` marks on them by part index.
    static func parts(of content: JSONValue?, param: String) throws(ProviderError) -> ([Part], [Int: JSONValue]) {
        switch content {
        case .string(let text)?: return ([.text(text)], [:])
        case .array(let items)?:
            var parts: [Part] = []
            var marks: [Int: JSONValue] = [:]
            for (index, item) in items.enumerated() {
                let itemParam = "\(param)[\(index)]"
                if let mark = try CacheMarks.mark(in: item, param: itemParam) { marks[index] = mark }
                switch item["type"]?.stringValue {
                case "text":
                    guard let text = item["text"]?.stringValue else {
                        throw ProviderError(.invalidRequest(param: itemParam), "\(itemParam) needs a string 'text'.")
                    }
                    parts.append(.text(text))
                case "image_url":
                    let url = item["image_url"]?["url"]?.stringValue ?? item["image_url"]?.stringValue
                    guard let url else {
                        throw ProviderError(.invalidRequest(param: itemParam + ".image_url"),
                            "\(itemParam).image_url needs a string 'url'.")
                    }
                    parts.append(.image(try imageSource(url, param: itemParam + ".image_url.url")))
                case let type:
                    throw ProviderError(.invalidRequest(param: itemParam),
                        "\(itemParam) has content type '\(type ?? "none")'; this model accepts 'text' and 'image_url'.")
                }
            }
            return (parts, marks)
        default:
            throw ProviderError(.invalidRequest(param: param), "\(param) must be a string or an array of parts.")
        }
    }

    /// Splits a `data:` URL, or keeps a remote URL.
    static func imageSource(_ url: String, param: String) throws(ProviderError) -> ImageSource {
        if url.hasPrefix("data:") {
            guard let comma = url.firstIndex(of: ","),
                url[..<comma].hasSuffix(";base64")
            else {
                throw ProviderError(.invalidRequest(param: param),
                    "\(param) must be a base64 data URL (data:image/png;base64,...) or an https URL.")
            }
            let header = url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count)
            let data = String(url[url.index(after: comma)...])
            guard !header.isEmpty, !data.isEmpty else {
                throw ProviderError(.invalidRequest(param: param), "\(param) has an empty media type or no data.")
            }
            return .inline(mediaType: String(header), base64: data)
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") || url.hasPrefix("gs://") else {
            throw ProviderError(.invalidRequest(param: param),
                "\(param) must be a base64 data URL (data:image/png;base64,...) or an https URL.")
        }
        return .url(url)
    }

    /// The tools, and the `cache_control` marks on them by index.
    static func tools(_ value: JSONValue?, marks: inout [Int: JSONValue]) throws(ProviderError) -> [Tool] {
        guard let items = value?.arrayValue else { return [] }
        var tools: [Tool] = []
        for (index, item) in items.enumerated() {
            let param = "tools[\(index)]"
            if let mark = try CacheMarks.mark(in: item, param: param) { marks[index] = mark }
            guard item["type"]?.stringValue ?? "function" == "function", let function = item["function"],
                let name = function["name"]?.stringValue, !name.isEmpty
            else {
                throw ProviderError(.invalidRequest(param: param),
                    "\(param) must be {\"type\":\"function\",\"function\":{\"name\":...}}.")
            }
            let parameters = function["parameters"] ?? .object(["type": "object", "properties": .object([:])])
            guard parameters.objectValue != nil else {
                throw ProviderError(.invalidRequest(param: param + ".function.parameters"),
                    "\(param).function.parameters must be a JSON Schema object.")
            }
            tools.append(Tool(name: name, description: function["description"]?.stringValue, parameters: parameters))
        }
        return tools
    }

    static func toolChoice(_ value: JSONValue?, tools: [Tool]) throws(ProviderError) -> ToolChoice? {
        switch value {
        case nil, .null?: return nil
        case .string("auto")?: return .auto
        case .string("none")?: return ToolChoice.none
        case .string("required")?: return .required
        case .object(let fields)?:
            if let name = fields["function"]?["name"]?.stringValue {
                guard tools.contains(where: { $0.name == name }) else {
                    throw ProviderError(.invalidRequest(param: "tool_choice"),
                        "tool_choice names '\(name)', which is not in 'tools'.")
                }
                return .function(name)
            }
        default: break
        }
        throw ProviderError(.invalidRequest(param: "tool_choice"),
            "tool_choice must be 'auto', 'none', 'required' or {\"type\":\"function\",\"function\":{\"name\":...}}.")
    }

    static func responseFormat(_ value: JSONValue?) throws(ProviderError) -> ResponseFormat {
        guard let value, !value.isNull else { return .text }
        switch value["type"]?.stringValue {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard let schema = value["json_schema"]?["schema"], schema.objectValue != nil else {
                throw ProviderError(.invalidRequest(param: "response_format.json_schema.schema"),
                    "response_format of type 'json_schema' needs json_schema.schema, a JSON Schema object.")
            }
            return .jsonSchema(name: value["json_schema"]?["name"]?.stringValue ?? "response", schema: schema)
        default:
            throw ProviderError(.invalidRequest(param: "response_format"),
                "response_format.type must be 'text', 'json_object' or 'json_schema'.")
        }
    }
}

/// Conversation turns for providers that require roles to alternate: content for the same
/// speaker as the previous turn is merged into it, and empty turns are dropped.
struct AlternatingTurns {
    private(set) var turns: [(role: String, content: [JSONValue])] = []

    mutating func append(_ role: String, _ content: [JSONValue]) {
        guard !content.isEmpty else { return }
        if let last = turns.last, last.role == role {
            turns[turns.count - 1].content.append(contentsOf: content)
        } else {
            turns.append((role, content))
        }
    }

    /// Puts a placeholder user turn first when the conversation opens with the assistant.
    mutating func startWithUser(placeholder: JSONValue) {
        if turns.first?.role == "assistant" { turns.insert(("user", [placeholder]), at: 0) }
    }

    /// The turns as `{"role", key: [...]}` objects.
    func json(contentKey: String) -> [JSONValue] {
        turns.map { ["role": .string($0.role), contentKey: .array($0.content)] }
    }
}
