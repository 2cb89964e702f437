import ScutumCore

/// Where an OpenAI-format caller asked for prompt-cache breakpoints, LiteLLM's way: a
/// `cache_control` object (`{"type":"ephemeral"}`, optionally with `"ttl":"1h"`) on a content part,
/// on a whole message (its last block), or on a tool. Adapters for Claude forward them
/// (Anthropic's `cache_control`, Bedrock's `cachePoint`); others ignore them.
struct CacheMarks: Sendable, Equatable {
    /// A text block of a system message and the breakpoint on it, if any.
    struct SystemBlock: Sendable, Equatable {
        var text: String
        var mark: JSONValue?
    }

    /// The text parts of every system message, in order.
    var system: [SystemBlock] = []
    /// Marks on content parts of user messages: index in `ChatInput.messages`, then part index.
    var parts: [Int: [Int: JSONValue]] = [:]
    /// Marks on whole messages (placed on the message's last block), by index in `ChatInput.messages`.
    var messages: [Int: JSONValue] = [:]
    /// Marks on tools, by index in `ChatInput.tools`.
    var tools: [Int: JSONValue] = [:]

    /// How many breakpoints the caller placed.
    var count: Int {
        system.count(where: { $0.mark != nil }) + parts.values.reduce(0) { $0 + $1.count } + messages.count + tools.count
    }

    /// Whether any system block carries a breakpoint (then the system prompt goes as blocks).
    var marksSystem: Bool { system.contains { $0.mark != nil } }

    /// The `cache_control` of a part, message or tool, checked: nil when absent, a 400 naming
    /// `param` when it is not an object with a string `type`.
    static func mark(in object: JSONValue, param: String) throws(ProviderError) -> JSONValue? {
        guard let mark = object["cache_control"], !mark.isNull else { return nil }
        guard mark.objectValue != nil, mark["type"]?.stringValue != nil else {
            throw ProviderError(.invalidRequest(param: param + ".cache_control"),
                "\(param).cache_control must be an object such as {\"type\":\"ephemeral\"} or {\"type\":\"ephemeral\",\"ttl\":\"1h\"}.")
        }
        return mark
    }

    /// Anthropic's breakpoint: `{"type":"ephemeral"}`, the default 5-minute cache.
    static let ephemeral: JSONValue = ["type": "ephemeral"]
}

extension ChatInput {
    /// Takes a request apart for a Claude deployment, placing automatic breakpoints when the
    /// deployment is set to `cache_breakpoints: auto` and the model is a Claude.
    init(_ request: ChatCompletionRequest, for deployment: ModelDeployment) throws(ProviderError) {
        try self.init(request)
        guard let minimum = AutomaticBreakpoints.minimumTokens(for: deployment), cache.count == 0 else { return }
        let toolBytes = tools.reduce(0) { total, tool in
            total + tool.name.utf8.count + (tool.description?.utf8.count ?? 0) + tool.parameters.jsonBytes.readableBytes
        }
        let systemBytes = cache.system.reduce(0) { $0 + $1.text.utf8.count }
        let places = AutomaticBreakpoints.places(toolBytes: toolBytes, systemBytes: systemBytes, minimumTokens: minimum)
        if places.lastTool, !tools.isEmpty { cache.tools[tools.count - 1] = CacheMarks.ephemeral }
        if places.lastSystemBlock, !cache.system.isEmpty { cache.system[cache.system.count - 1].mark = CacheMarks.ephemeral }
    }
}

/// Where `cache_breakpoints: auto` puts breakpoints when the caller placed none: on the last tool
/// when the tools are long enough to be cached, and on the last system block when tools and system
/// prompt together are (Anthropic caches the prefix up to a breakpoint: tools, then system). Two at
/// most, within Anthropic's limit of four. Tokens are estimated as bytes / 4.
enum AutomaticBreakpoints {
    /// The smallest prefix Anthropic caches for a model, when `deployment` is a Claude set to
    /// `auto`: 2048 tokens for Haiku, 1024 for Sonnet and Opus; nil otherwise.
    static func minimumTokens(for deployment: ModelDeployment) -> Int? {
        let model = deployment.upstreamModel.lowercased()
        guard deployment.autoCacheBreakpoints, deployment.provider == .anthropic || model.contains("claude") else {
            return nil
        }
        return model.contains("haiku") ? 2048 : 1024
    }

    /// Whether the tools (`toolBytes` of them) and the system prompt after them earn a breakpoint.
    static func places(toolBytes: Int, systemBytes: Int, minimumTokens: Int)
        -> (lastTool: Bool, lastSystemBlock: Bool)
    {
        (toolBytes > 0 && toolBytes / 4 >= minimumTokens, systemBytes > 0 && (toolBytes + systemBytes) / 4 >= minimumTokens)
    }

    /// Places them in a native Messages API body (`system` as a string or text blocks, `tools`),
    /// unless it has a `cache_control` anywhere.
    static func place(in body: inout JSONValue, for deployment: ModelDeployment) {
        guard let minimum = minimumTokens(for: deployment) else { return }
        let text = body.jsonString
        guard !text.contains(#""cache_control""#) else { return }
        var tools = body["tools"]?.arrayValue ?? []
        var system: [JSONValue]
        switch body["system"] {
        case .string(let prompt)?: system = prompt.isEmpty ? [] : [["type": "text", "text": .string(prompt)]]
        case .array(let blocks)?: system = blocks
        default: system = []
        }
        let toolBytes = tools.reduce(0) { $0 + $1.jsonBytes.readableBytes }
        let systemBytes = system.reduce(0) { $0 + $1.jsonBytes.readableBytes }
        let places = places(toolBytes: toolBytes, systemBytes: systemBytes, minimumTokens: minimum)
        if places.lastTool, !tools.isEmpty, tools[tools.count - 1].objectValue != nil {
            tools[tools.count - 1]["cache_control"] = CacheMarks.ephemeral
            body["tools"] = .array(tools)
        }
        if places.lastSystemBlock, !system.isEmpty, system[system.count - 1].objectValue != nil {
            system[system.count - 1]["cache_control"] = CacheMarks.ephemeral
            body["system"] = .array(system)
        }
    }
}
