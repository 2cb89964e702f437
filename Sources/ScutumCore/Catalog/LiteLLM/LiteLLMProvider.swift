/// How a LiteLLM `litellm_params.model` (`provider/model`) maps to a catalog provider, and the
/// credential set each provider reads from the environment, with LiteLLM's variable names.
struct LiteLLMProvider: Sendable {
    /// The catalog provider.
    var kind: ProviderKind
    /// The catalog credential set (named after LiteLLM's prefix).
    var credentials: String
    /// The set's entry: the variables LiteLLM itself reads for this provider.
    var defaults: CatalogFile.Credentials
    /// Appended to an `api_base` given without it (Ollama's OpenAI-compatible API is under `/v1`).
    var basePathSuffix: String?

    private static func keyed(_ kind: ProviderKind, _ name: String, key: String, base: String? = nil,
        suffix: String? = nil) -> LiteLLMProvider
    {
        LiteLLMProvider(kind: kind, credentials: name,
            defaults: CatalogFile.Credentials(api_key: key.isEmpty ? nil : "${\(key)}", api_base: base),
            basePathSuffix: suffix)
    }

    /// Prefixes with an equivalent, by LiteLLM's name.
    static let byPrefix: [String: LiteLLMProvider] = [
        "openai": keyed(.openai, "openai", key: "OPENAI_API_KEY", base: "${OPENAI_API_BASE}"),
        "azure": LiteLLMProvider(kind: .azure, credentials: "azure", defaults: CatalogFile.Credentials(
            api_key: "${AZURE_API_KEY}", api_base: "${AZURE_API_BASE}", api_version: "${AZURE_API_VERSION:-2024-10-21}")),
        "anthropic": keyed(.anthropic, "anthropic", key: "ANTHROPIC_API_KEY", base: "${ANTHROPIC_API_BASE}"),
        "gemini": keyed(.gemini, "gemini", key: "GEMINI_API_KEY"),
        "vertex_ai": LiteLLMProvider(kind: .vertex, credentials: "vertex_ai", defaults: CatalogFile.Credentials(
            extra: ["project": "${VERTEXAI_PROJECT}", "location": "${VERTEXAI_LOCATION:-us-central1}",
                "credentials_file": "${GOOGLE_APPLICATION_CREDENTIALS}"])),
        "bedrock": LiteLLMProvider(kind: .bedrock, credentials: "bedrock", defaults: CatalogFile.Credentials(
            api_key: "${AWS_ACCESS_KEY_ID}", extra: ["secret_key": "${AWS_SECRET_ACCESS_KEY}",
                "session_token": "${AWS_SESSION_TOKEN}", "region": "${AWS_REGION_NAME:-us-east-1}"])),
        "xai": keyed(.xai, "xai", key: "XAI_API_KEY"),
        "deepseek": keyed(.deepseek, "deepseek", key: "DEEPSEEK_API_KEY"),
        // OpenAI-compatible servers: the catalog's openai_compatible with their endpoint.
        "hosted_vllm": keyed(.openaiCompatible, "hosted_vllm", key: "HOSTED_VLLM_API_KEY", base: "${HOSTED_VLLM_API_BASE}"),
        "ollama": keyed(.openaiCompatible, "ollama", key: "",
            base: "${OLLAMA_API_BASE:-http://localhost:11434}/v1", suffix: "/v1"),
        "ollama_chat": keyed(.openaiCompatible, "ollama", key: "",
            base: "${OLLAMA_API_BASE:-http://localhost:11434}/v1", suffix: "/v1"),
        "litellm_proxy": keyed(.openaiCompatible, "litellm_proxy", key: "LITELLM_PROXY_API_KEY",
            base: "${LITELLM_PROXY_API_BASE}"),
        "groq": keyed(.openaiCompatible, "groq", key: "GROQ_API_KEY", base: "https://api.groq.com/openai/v1"),
        "mistral": keyed(.openaiCompatible, "mistral", key: "MISTRAL_API_KEY", base: "https://api.mistral.ai/v1"),
        "openrouter": keyed(.openaiCompatible, "openrouter", key: "OPENROUTER_API_KEY", base: "https://openrouter.ai/api/v1"),
        "together_ai": keyed(.openaiCompatible, "together_ai", key: "TOGETHERAI_API_KEY", base: "https://api.together.xyz/v1"),
        "fireworks_ai": keyed(.openaiCompatible, "fireworks_ai", key: "FIREWORKS_AI_API_KEY",
            base: "https://api.fireworks.ai/inference/v1"),
    ]

    /// Bedrock's route segments (`bedrock/converse/<id>`): the catalog's Bedrock adapter picks its
    /// own API per model, so the segment is dropped.
    private static let bedrockRoutes = ["converse/", "invoke/"]

    /// Bare model names LiteLLM recognises without a prefix, by their start.
    private static let bareNames: [(start: String, prefix: String)] = [
        ("gpt-", "openai"), ("chatgpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"),
        ("text-embedding-", "openai"), ("claude-", "anthropic"),
    ]

    /// The provider and the provider's model id for `model`, or why there is none.
    static func route(_ model: String) -> Result<(provider: LiteLLMProvider, model: String), RouteError> {
        let prefix: String
        var id: String
        if let slash = model.firstIndex(of: "/") {
            prefix = String(model[..<slash])
            id = String(model[model.index(after: slash)...])
        } else if let bare = bareNames.first(where: { model.hasPrefix($0.start) }) {
            prefix = bare.prefix
            id = model
        } else {
            return .failure(RouteError(reason: "'\(model)' names no provider (write it as provider/model, e.g. openai/\(model))"))
        }
        guard let provider = byPrefix[prefix] else {
            return .failure(RouteError(reason: "provider '\(prefix)' has no equivalent (known: \(byPrefix.keys.sorted().joined(separator: ", ")))"))
        }
        if provider.kind == .bedrock, let route = bedrockRoutes.first(where: { id.hasPrefix($0) }) {
            id.removeFirst(route.count)
        }
        guard !id.isEmpty else { return .failure(RouteError(reason: "'\(model)' names no model after the provider")) }
        return .success((provider, id))
    }

    /// Why a model string has no catalog equivalent.
    struct RouteError: Error {
        var reason: String
    }
}
