import ScutumCore

/// Which adapter serves each provider kind on this node.
public struct ProviderRegistry: Sendable {
    private let adapters: [ProviderKind: any ProviderAdapter]

    public init(adapters: [ProviderKind: any ProviderAdapter]) {
        self.adapters = adapters
    }

    /// An adapter for every provider kind: the OpenAI-compatible family, Azure, Anthropic, Gemini,
    /// Vertex AI and Bedrock.
    public static func standard(http: UpstreamHTTP) -> ProviderRegistry {
        let openAI = OpenAICompatibleAdapter(http: http, dialect: .openAI)
        return ProviderRegistry(adapters: [
            .openai: openAI, .xai: openAI, .deepseek: openAI, .openaiCompatible: openAI,
            .azure: OpenAICompatibleAdapter(http: http, dialect: .azure),
            .anthropic: AnthropicAdapter(http: http),
            .gemini: GeminiAdapter(http: http),
            .vertex: VertexAdapter(http: http, authenticator: VertexAuthenticator(http: http)),
            .bedrock: BedrockAdapter(http: http),
        ])
    }

    /// The kinds that have an adapter.
    public var supportedKinds: Set<ProviderKind> { Set(adapters.keys) }

    public func adapter(for kind: ProviderKind) -> (any ProviderAdapter)? { adapters[kind] }

    /// A copy where `kind` is served by `adapter` (the demo serves every kind through the mock).
    public func with(_ kind: ProviderKind, servedBy adapter: any ProviderAdapter) -> ProviderRegistry {
        var adapters = self.adapters
        adapters[kind] = adapter
        return ProviderRegistry(adapters: adapters)
    }
}
