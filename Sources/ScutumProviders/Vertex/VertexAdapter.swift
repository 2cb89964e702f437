import ScutumCore

/// Vertex AI: Gemini models through `generateContent`, and Claude models (ids starting with
/// `claude`) through Anthropic's Messages format on `rawPredict`, sharing one authenticator.
public struct VertexAdapter: ProviderAdapter {
    let gemini: GeminiAdapter
    let anthropic: AnthropicAdapter

    public init(http: UpstreamHTTP, authenticator: VertexAuthenticator) {
        gemini = GeminiAdapter(http: http, dialect: .vertex(authenticator))
        anthropic = AnthropicAdapter(http: http, dialect: .vertex(authenticator))
    }

    func adapter(for target: RoutableDeployment) -> any ProviderAdapter {
        target.deployment.upstreamModel.hasPrefix("claude") ? anthropic : gemini
    }

    public func anthropicMessages(for target: RoutableDeployment) -> (any AnthropicNativeMessages)? {
        target.deployment.upstreamModel.hasPrefix("claude") ? anthropic : nil
    }

    public func chatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionResult
    {
        try await adapter(for: target).chatCompletion(request, on: target)
    }

    public func streamChatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream
    {
        try await adapter(for: target).streamChatCompletion(request, on: target)
    }

    public func embeddings(_ request: EmbeddingRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> EmbeddingResult
    {
        try await adapter(for: target).embeddings(request, on: target)
    }
}
