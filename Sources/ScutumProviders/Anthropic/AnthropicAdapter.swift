import NIOCore
import ScutumCore

/// Claude through Anthropic's Messages API, directly (`x-api-key`) or on Vertex AI (`rawPredict`
/// with a Google access token).
public struct AnthropicAdapter: ProviderAdapter {
    /// Where the adapter sends requests and how it authenticates.
    public enum Dialect: Sendable {
        /// `{api_base}/v1/messages` with `x-api-key` and `anthropic-version`.
        case direct
        /// `.../publishers/anthropic/models/{model}:rawPredict` on Vertex AI.
        case vertex(VertexAuthenticator)
    }

    /// The API version header sent to Anthropic.
    public static let apiVersion = "2023-06-01"
    /// The `anthropic_version` body field Vertex AI requires.
    public static let vertexVersion = "vertex-2023-10-16"

    let http: UpstreamHTTP
    let dialect: Dialect

    public init(http: UpstreamHTTP, dialect: Dialect = .direct) {
        self.http = http
        self.dialect = dialect
    }

    public func anthropicMessages(for target: RoutableDeployment) -> (any AnthropicNativeMessages)? { self }

    public func chatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionResult
    {
        var input = try ChatInput(request, for: target.deployment)
        input.stream = false
        let (url, headers, body) = try await prepare(input, target)
        let response = try await http.postJSON(url: url, headers: headers, body: body.jsonBytes)
        let json = try await http.collectJSON(response)
        let reply = try AnthropicResponse.reply(json, jsonMode: input.responseFormat != .text)
        return ChatCompletionResult(body: OpenAIReplyWriter(model: target.deployment.name).completion(reply),
            usage: reply.usage)
    }

    public func streamChatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream
    {
        var input = try ChatInput(request, for: target.deployment)
        input.stream = true
        let (url, headers, body) = try await prepare(input, target)
        let response = try await http.postJSON(url: url, headers: headers, body: body.jsonBytes)
        try UpstreamHTTP.expectContentType(response, "text/event-stream")
        let translator = AnthropicStreamTranslator(writer: OpenAIReplyWriter(model: target.deployment.name),
            jsonMode: input.responseFormat != .text)
        return ChatCompletionStream(TranslatedStreamSource(body: response.body, framing: SSEFraming(),
            translator: translator))
    }

    public func embeddings(_ request: EmbeddingRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> EmbeddingResult
    {
        throw ProviderError(.invalidRequest(param: "model"), "Anthropic has no embeddings API.")
    }

    /// The URL, auth headers and body for one call.
    func prepare(_ input: ChatInput, _ target: RoutableDeployment) async throws(ProviderError)
        -> (url: String, headers: [(String, String)], body: JSONValue)
    {
        let deployment = target.deployment
        switch dialect {
        case .direct:
            guard let key = target.credentials.apiKey else {
                throw ProviderError(.status(401), "no Anthropic API key configured for \(deployment.name)")
            }
            let base = target.credentials.apiBase ?? "https://api.anthropic.com"
            let body = try AnthropicRequest.body(input, model: deployment.upstreamModel,
                maxOutputTokens: deployment.maxOutputTokens)
            return (URLPath.join(base, "v1/messages"), [("x-api-key", key), ("anthropic-version", Self.apiVersion)],
                body)
        case .vertex(let authenticator):
            let method = input.stream ? "streamRawPredict" : "rawPredict"
            let (url, token) = try await authenticator.endpoint(
                publisher: "anthropic", model: deployment.upstreamModel, method: method, credentials: target.credentials)
            let body = try AnthropicRequest.body(input, model: nil, maxOutputTokens: deployment.maxOutputTokens,
                vertexVersion: Self.vertexVersion)
            return (url, [("Authorization", "Bearer \(token)")], body)
        }
    }
}
