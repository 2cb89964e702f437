import NIOCore
import ScutumCore

/// Anthropic's Messages API passed through untranslated (`POST /v1/messages` to a Claude model, direct
/// or on Vertex AI): the caller's body as it came (blocks, `system`, tools, `thinking`,
/// `cache_control`, `metadata`...), only the model named as the deployment's, and the answer or
/// stream events back as Anthropic wrote them, with `model` the name the caller used.
public struct AnthropicNativeRequest: Sendable {
    /// The caller's request body (a JSON object).
    public var body: JSONValue
    public var stream: Bool
    /// The caller's `anthropic-version`, if sent (the adapter's own otherwise).
    public var version: String?
    /// The caller's `anthropic-beta` features, if any.
    public var beta: String?

    public init(body: JSONValue, stream: Bool, version: String?, beta: String?) {
        self.body = body
        self.stream = stream
        self.version = version
        self.beta = beta
    }
}

/// Something that sends Anthropic Messages API requests untranslated to a Claude deployment:
/// Anthropic itself and Vertex AI (`AnthropicAdapter`), Bedrock (`BedrockAdapter`, InvokeModel).
public protocol AnthropicNativeMessages: Sendable {
    /// A whole message, `model` in it the catalog name.
    func nativeMessage(_ request: AnthropicNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> AnthropicNativeMessage
    /// Anthropic's stream events, each a native chunk (`message_start` naming the catalog model),
    /// the usage on `message_stop`'s.
    func nativeStream(_ request: AnthropicNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream
    /// The provider's own count of the request's input tokens, where it has a count endpoint;
    /// nil where it has none here.
    func nativeInputTokens(_ request: AnthropicNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> Int?
}

/// A non-streaming native answer: the message JSON and its usage.
public struct AnthropicNativeMessage: Sendable {
    public var body: ByteBuffer
    public var usage: TokenUsage?
}

extension AnthropicNativeMessage {
    /// A message object read from a provider, named for the catalog model.
    init(message: JSONValue, model: String) throws(ProviderError) {
        guard message["type"]?.stringValue == "message" else {
            throw ProviderError(.malformed, "the provider's answer is not a message")
        }
        var message = message
        message["model"] = .string(model)
        self.init(body: message.jsonBytes, usage: AnthropicResponse.usage(message["usage"]))
    }
}

extension AnthropicAdapter: AnthropicNativeMessages {
    /// Sends `request` to the deployment's Messages API as it is.
    public func nativeMessage(_ request: AnthropicNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> AnthropicNativeMessage
    {
        let (url, headers, body) = try await prepareNative(request, stream: false, target)
        let response = try await http.postJSON(url: url, headers: headers, body: body.jsonBytes)
        return try AnthropicNativeMessage(message: try await http.collectJSON(response), model: target.deployment.name)
    }

    /// Streams `request` from the deployment's Messages API: each event whole, as a native chunk
    /// (`message_start` with the caller's model name); the usage on `message_stop`'s chunk.
    public func nativeStream(_ request: AnthropicNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream
    {
        let (url, headers, body) = try await prepareNative(request, stream: true, target)
        let response = try await http.postJSON(url: url, headers: headers, body: body.jsonBytes)
        try UpstreamHTTP.expectContentType(response, "text/event-stream")
        return ChatCompletionStream(TranslatedStreamSource(body: response.body, framing: SSEFraming(),
            translator: AnthropicNativeEvents(model: target.deployment.name)))
    }

    /// `POST /v1/messages/count_tokens` (Anthropic direct; nil on Vertex AI).
    public func nativeInputTokens(_ request: AnthropicNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> Int?
    {
        guard case .direct = dialect else { return nil }
        var (url, headers, body) = try await prepareNative(request, stream: false, target)
        url += "/count_tokens"
        for field in ["max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata"] {
            body[field] = nil
        }
        let response = try await http.postJSON(url: url, headers: headers, body: body.jsonBytes)
        guard let count = try await http.collectJSON(response)["input_tokens"]?.intValue else {
            throw ProviderError(.malformed, "the provider's count has no input_tokens")
        }
        return Int(count)
    }

    func prepareNative(_ request: AnthropicNativeRequest, stream: Bool, _ target: RoutableDeployment)
        async throws(ProviderError) -> (url: String, headers: [(String, String)], body: JSONValue)
    {
        let deployment = target.deployment
        var body = request.body
        body["stream"] = stream ? true : nil
        AutomaticBreakpoints.place(in: &body, for: deployment)
        switch dialect {
        case .direct:
            guard let key = target.credentials.apiKey else {
                throw ProviderError(.status(401), "no Anthropic API key configured for \(deployment.name)")
            }
            body["model"] = .string(deployment.upstreamModel)
            var headers = [("x-api-key", key), ("anthropic-version", request.version ?? Self.apiVersion)]
            if let beta = request.beta { headers.append(("anthropic-beta", beta)) }
            let base = target.credentials.apiBase ?? "https://api.anthropic.com"
            return (URLPath.join(base, "v1/messages"), headers, body)
        case .vertex(let authenticator):
            let (url, token) = try await authenticator.endpoint(publisher: "anthropic", model: deployment.upstreamModel,
                method: stream ? "streamRawPredict" : "rawPredict", credentials: target.credentials)
            body["model"] = nil
            body["anthropic_version"] = .string(Self.vertexVersion)
            var headers = [("Authorization", "Bearer \(token)")]
            if let beta = request.beta { headers.append(("anthropic-beta", beta)) }
            return (url, headers, body)
        }
    }
}

/// Anthropic's stream events as native chunks: each passed on whole (only `message_start`'s model
/// rewritten), the usage gathered from `message_start` and `message_delta` and attached to the
/// `message_stop` chunk; an `error` event ends the stream as a provider error.
struct AnthropicNativeEvents: StreamTranslator {
    let model: String
    private var usage = TokenUsage(promptTokens: 0, completionTokens: 0)
    private(set) var isComplete = false

    init(model: String) {
        self.model = model
    }

    /// The events read here; the rest (deltas, pings, block starts and stops) pass unparsed.
    static let read: Set<String> = ["message_start", "message_delta", "message_stop", "error"]

    mutating func translate(_ event: SSEDecoder.Event) throws(ProviderError) -> [ChatCompletionChunk] {
        if let name = event.name, !Self.read.contains(name) {
            return [ChatCompletionChunk(native: name, data: event.data, usage: nil)]
        }
        guard var json = JSONValue.parse(event.data), json.objectValue != nil else {
            throw ProviderError(.malformed, "an event in the stream is not a JSON object")
        }
        let type = json["type"]?.stringValue ?? event.name ?? ""
        var data = event.data
        var chunkUsage: TokenUsage?
        switch type {
        case "message_start":
            if let start = AnthropicResponse.usage(json["message"]?["usage"]) { usage = start }
            json["message"]?["model"] = .string(model)
            data = json.jsonBytes
        case "message_delta":
            if let more = AnthropicResponse.usage(json["usage"]) { usage.update(with: more) }
        case "message_stop":
            isComplete = true
            chunkUsage = usage
        case "error":
            throw AnthropicResponse.error(json)
        default:
            break
        }
        return [ChatCompletionChunk(native: type, data: data, usage: chunkUsage)]
    }

    mutating func finish() throws(ProviderError) -> [ChatCompletionChunk] {
        throw ProviderError(.connection, "the provider ended the stream before message_stop")
    }
}
