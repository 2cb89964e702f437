import NIOCore
import ScutumCore

/// A request of OpenAI's Responses API sent to a provider that has the API (OpenAI, Azure OpenAI's
/// v1 API) as it is: the gateway keeps the conversation, so it goes with every earlier item in
/// `input`, `store: false` and no `previous_response_id`.
public struct ResponsesNativeRequest: Sendable {
    /// The body, `model` still the caller's (replaced by the deployment's on the way).
    public var body: JSONValue

    public init(body: JSONValue) {
        self.body = body
    }
}

/// A whole native answer: the response object (the provider's `model`, ids and echo) and its usage.
public struct ResponsesNativeResult: Sendable {
    public var response: JSONValue
    public var usage: TokenUsage?
}

extension OpenAICompatibleAdapter {
    /// Sends `request` to the deployment's Responses API and reads the whole response.
    public func nativeResponse(_ request: ResponsesNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ResponsesNativeResult
    {
        let (url, headers) = try responsesEndpoint(target)
        let response = try await http.postJSON(url: url, headers: headers,
            body: Self.responsesBody(request, stream: false, target).jsonBytes)
        let json = try await http.collectJSON(response)
        guard json["object"]?.stringValue == "response" else {
            throw ProviderError(.malformed, "the provider's answer is not a response object")
        }
        return ResponsesNativeResult(response: json, usage: Self.responsesUsage(json["usage"]))
    }

    /// Streams `request` from the deployment's Responses API: each event whole as a native chunk,
    /// the usage on the chunk of `response.completed` (or `.incomplete`, `.failed`).
    public func nativeResponseStream(_ request: ResponsesNativeRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream
    {
        let (url, headers) = try responsesEndpoint(target)
        let response = try await http.postJSON(url: url, headers: headers,
            body: Self.responsesBody(request, stream: true, target).jsonBytes)
        try UpstreamHTTP.expectContentType(response, "text/event-stream")
        return ChatCompletionStream(TranslatedStreamSource(body: response.body, framing: SSEFraming(),
            translator: ResponsesNativeEvents()))
    }

    /// Whether `target` has the Responses API: OpenAI itself, and every Azure OpenAI deployment,
    /// unless the catalog says `responses_api: translated`.
    func hasResponsesAPI(_ target: RoutableDeployment) -> Bool {
        guard target.deployment.nativeResponses else { return false }
        switch dialect {
        case .azure: return true
        case .openAI: return target.deployment.provider == .openai
        }
    }

    /// `{api_base}/responses` (OpenAI), `{api_base}/openai/v1/responses` (Azure's v1 API).
    func responsesEndpoint(_ target: RoutableDeployment) throws(ProviderError) -> (url: String, headers: [(String, String)]) {
        switch dialect {
        case .openAI:
            return try endpoint("responses", target)
        case .azure:
            guard let base = target.credentials.apiBase, let key = target.credentials.apiKey else {
                throw ProviderError(.status(500), "Azure needs AZURE_API_BASE and AZURE_API_KEY")
            }
            return (URLPath.join(base, "openai/v1/responses"), [("api-key", key)])
        }
    }

    static func responsesBody(_ request: ResponsesNativeRequest, stream: Bool, _ target: RoutableDeployment) -> JSONValue {
        var body = request.body
        body["model"] = .string(target.deployment.upstreamModel)
        body["stream"] = stream ? true : nil
        body["store"] = false
        body["previous_response_id"] = nil
        return body
    }

    /// The Responses API's usage as token counts (cached input and reasoning tokens as such).
    static func responsesUsage(_ usage: JSONValue?) -> TokenUsage? {
        usage.flatMap { TokenUsage(responses: $0) }
    }
}

/// The Responses API's stream events as native chunks, each passed on whole; the stream ends with
/// `response.completed` or `response.incomplete` (whose chunk carries the usage); `response.failed`
/// and an `error` event end it as a provider error.
struct ResponsesNativeEvents: StreamTranslator {
    private(set) var isComplete = false

    /// The events read here; the rest (deltas and item events) pass unparsed.
    static let read: Set<String> = ["response.completed", "response.incomplete", "response.failed", "error"]

    mutating func translate(_ event: SSEDecoder.Event) throws(ProviderError) -> [ChatCompletionChunk] {
        if let name = event.name, !Self.read.contains(name) {
            return [ChatCompletionChunk(native: name, data: event.data, usage: nil)]
        }
        guard let json = JSONValue.parse(event.data), json.objectValue != nil else {
            throw ProviderError(.malformed, "an event in the stream is not a JSON object")
        }
        let type = json["type"]?.stringValue ?? event.name ?? ""
        var usage: TokenUsage?
        switch type {
        case "response.completed", "response.incomplete":
            isComplete = true
            usage = OpenAICompatibleAdapter.responsesUsage(json["response"]?["usage"])
                ?? TokenUsage(promptTokens: 0, completionTokens: 0)
        case "response.failed":
            // A failure mid-way: the relay ends the stream with the gateway's response.failed and
            // settles it as such (502), not as a delivered answer.
            throw ProviderError(.status(500), json["response"]?["error"]?["message"]?.stringValue
                ?? "the provider's response failed")
        case "error":
            throw ProviderError(.status(500), json["message"]?.stringValue ?? "the provider's stream failed")
        default:
            break
        }
        return [ChatCompletionChunk(native: type, data: event.data, usage: usage)]
    }

    mutating func finish() throws(ProviderError) -> [ChatCompletionChunk] {
        throw ProviderError(.connection, "the provider ended the stream before response.completed")
    }
}
