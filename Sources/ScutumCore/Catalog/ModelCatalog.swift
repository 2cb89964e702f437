/// The provider families the gateway can speak to.
public enum ProviderKind: String, Sendable, CaseIterable, Codable {
    case openai
    case azure
    case xai
    case deepseek
    /// Any server that speaks OpenAI's API (vLLM, Ollama, TGI...); needs `api_base`.
    case openaiCompatible = "openai_compatible"
    case anthropic
    case gemini
    case vertex
    case bedrock

    /// The provider alias clients may use as a model name (`google` for Gemini).
    public var aliasName: String {
        switch self {
        case .gemini: "google"
        case .openaiCompatible: "openai_compatible"
        default: rawValue
        }
    }

    /// The environment variable an operator sets to give this provider a key, for messages.
    public var keyVariable: String {
        switch self {
        case .openai: "OPENAI_API_KEY"
        case .azure: "AZURE_API_KEY and AZURE_API_BASE"
        case .xai: "XAI_API_KEY"
        case .deepseek: "DEEPSEEK_API_KEY"
        case .openaiCompatible: "its api_base"
        case .anthropic: "ANTHROPIC_API_KEY"
        case .gemini: "GEMINI_API_KEY"
        case .vertex: "VERTEX_CREDENTIALS_FILE (or VERTEX_CREDENTIALS_JSON)"
        case .bedrock: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        }
    }
}

/// What a model is for.
public enum ModelMode: String, Sendable, Codable {
    case chat
    case embedding
}

/// A named set of provider credentials and endpoint settings. Its description never shows secrets.
public struct ProviderCredentials: Sendable, CustomStringConvertible {
    public var name: String
    public var apiKey: String?
    public var apiBase: String?
    public var apiVersion: String?
    /// Anything else a provider needs (region, project, secret key...).
    public var extra: [String: String]

    public init(name: String, apiKey: String? = nil, apiBase: String? = nil, apiVersion: String? = nil,
        extra: [String: String] = [:])
    {
        self.name = name
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.apiBase = apiBase.flatMap { $0.isEmpty ? nil : $0 }
        self.apiVersion = apiVersion.flatMap { $0.isEmpty ? nil : $0 }
        self.extra = extra.filter { !$0.value.isEmpty }
    }

    /// Whether these credentials are complete enough to call `kind`; nil if so, else why not.
    public func missing(for kind: ProviderKind) -> String? {
        switch kind {
        case .openai, .xai, .deepseek, .anthropic, .gemini:
            return apiKey == nil ? "no API key (set \(kind.keyVariable))" : nil
        case .azure:
            if apiKey == nil || apiBase == nil { return "no API key or endpoint (set \(kind.keyVariable))" }
            return nil
        case .openaiCompatible:
            return apiBase == nil ? "no api_base configured" : nil
        case .vertex:
            return extra["credentials_file"] == nil && extra["credentials_json"] == nil
                ? "no service account (set \(kind.keyVariable))" : nil
        case .bedrock:
            return apiKey == nil || extra["secret_key"] == nil ? "no AWS credentials (set \(kind.keyVariable))" : nil
        }
    }

    public var description: String {
        "ProviderCredentials(\(name), apiBase: \(apiBase ?? "-"), apiKey: \(apiKey == nil ? "unset" : "set"))"
    }
}

/// One deployment the gateway can route to: a name clients use, mapped to a provider's model. Several
/// deployments may share a name (a pool: the same model on several keys, resources or regions); each
/// has its own `id`, limits, breaker, statistics and spend attribution.
public struct ModelDeployment: Sendable, Hashable {
    /// The name clients use (`claude-sonnet-4.5`).
    public var name: String
    /// This deployment's id, unique in the catalog: the name itself for a model with one deployment.
    /// Limits, breakers, statistics and spend rows are kept per id.
    public var id: String
    public var provider: ProviderKind
    /// The provider's own model id, or the Azure deployment name.
    public var upstreamModel: String
    /// Which credential set to use.
    public var credentials: String
    public var mode: ModelMode
    /// USD per input token.
    public var inputCostPerToken: Double
    /// USD per output token.
    public var outputCostPerToken: Double
    /// Cache, reasoning and long-context prices.
    public var pricing: ModelPricing
    public var rpm: Int?
    public var tpm: Int?
    public var contextWindow: Int?
    public var maxOutputTokens: Int?
    /// Whether `/v1/responses` may pass through to this deployment's own Responses API (OpenAI and
    /// Azure OpenAI have one; `responses_api: translated` in the catalog turns it off).
    public var nativeResponses: Bool
    /// Share of its pool's traffic under `simple-shuffle` (nil: its `rpm`, else 1).
    public var weight: Double?
    /// Lower serves first within a pool; a higher one takes over only when all lower are unavailable.
    public var priority: Int
    /// Whether the gateway places Anthropic cache breakpoints on long system prompts and tool lists.
    public var autoCacheBreakpoints: Bool

    public init(name: String, provider: ProviderKind, upstreamModel: String, credentials: String? = nil,
        mode: ModelMode = .chat, inputCostPerToken: Double = 0, outputCostPerToken: Double = 0, rpm: Int? = nil,
        tpm: Int? = nil, contextWindow: Int? = nil, maxOutputTokens: Int? = nil, nativeResponses: Bool = true,
        id: String? = nil, weight: Double? = nil, priority: Int = 0, pricing: ModelPricing = ModelPricing(),
        autoCacheBreakpoints: Bool = false)
    {
        self.nativeResponses = nativeResponses
        self.name = name
        self.id = id ?? name
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.credentials = credentials ?? provider.rawValue
        self.mode = mode
        self.inputCostPerToken = inputCostPerToken
        self.outputCostPerToken = outputCostPerToken
        self.pricing = pricing
        self.rpm = rpm
        self.tpm = tpm
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.weight = weight
        self.priority = priority
        self.autoCacheBreakpoints = autoCacheBreakpoints
    }

    /// USD cost of a call with this usage.
    public func cost(of usage: TokenUsage) -> Double {
        costBreakdown(of: usage).total
    }
}

/// A deployment with the credentials to call it, ready for an adapter.
public struct RoutableDeployment: Sendable {
    public var deployment: ModelDeployment
    public var credentials: ProviderCredentials

    public init(deployment: ModelDeployment, credentials: ProviderCredentials) {
        self.deployment = deployment
        self.credentials = credentials
    }
}

/// The models, aliases and fallback chains a node serves, resolved against its credentials.
public struct ModelCatalog: Sendable {
    /// Deployments in the order the catalog lists them.
    public private(set) var deployments: [ModelDeployment]
    /// Group aliases (`fast`, `smart`...) to model names, in preference order.
    public private(set) var groups: [String: [String]]
    /// Fallback chains: model name to the models tried after it, in order.
    public private(set) var fallbacks: [String: [String]]
    public private(set) var credentials: [String: ProviderCredentials]
    /// Provider kinds this node has an adapter for.
    public let supportedKinds: Set<ProviderKind>
    /// The retry policy of models without their own.
    public let retryPolicy: RetryPolicy
    /// Retry policies by model name.
    public let retryPolicies: [String: RetryPolicy]
    /// The strategy that orders pools and aliases when no routing policy names one (nil: pools are
    /// shuffled by weight, aliases keep their order).
    public let defaultStrategy: RoutingRules.Strategy?

    /// Each model's deployments, lowest `priority` first (catalog order among equals).
    private var pools: [String: [ModelDeployment]]
    /// Why a deployment cannot be routed, by id; absent when it can.
    private var unavailable: [String: String]
    /// Models (by name) and deployments (by id) an operator deactivated.
    public private(set) var disabledNames: Set<String>

    public init(deployments: [ModelDeployment], groups: [String: [String]] = [:], fallbacks: [String: [String]] = [:],
        credentials: [String: ProviderCredentials], supportedKinds: Set<ProviderKind>, disabled: Set<String> = [],
        retryPolicy: RetryPolicy = .standard, retryPolicies: [String: RetryPolicy] = [:],
        defaultStrategy: RoutingRules.Strategy? = nil)
    {
        self.deployments = deployments
        self.groups = groups
        self.fallbacks = fallbacks
        self.credentials = credentials
        self.supportedKinds = supportedKinds
        self.disabledNames = disabled
        self.retryPolicy = retryPolicy
        self.retryPolicies = retryPolicies
        self.defaultStrategy = defaultStrategy
        self.pools = [:]
        self.unavailable = [:]
        index()
    }

    private mutating func index() {
        var pools: [String: [ModelDeployment]] = [:]
        var unavailable: [String: String] = [:]
        for deployment in deployments {
            pools[deployment.name, default: []].append(deployment)
            if disabledNames.contains(deployment.name) || disabledNames.contains(deployment.id) {
                unavailable[deployment.id] = "an operator has deactivated it"
            } else if !supportedKinds.contains(deployment.provider) {
                unavailable[deployment.id] = "the \(deployment.provider.rawValue) adapter is not enabled on this gateway"
            } else if let set = credentials[deployment.credentials] {
                if let missing = set.missing(for: deployment.provider) {
                    unavailable[deployment.id] = "provider \(deployment.provider.rawValue) has \(missing)"
                }
            } else {
                unavailable[deployment.id] = "its credentials '\(deployment.credentials)' are not configured"
            }
        }
        for (name, pool) in pools where pool.count > 1 {
            pools[name] = pool.enumerated().sorted { lhs, rhs in
                lhs.element.priority == rhs.element.priority ? lhs.offset < rhs.offset
                    : lhs.element.priority < rhs.element.priority
            }.map(\.element)
        }
        self.pools = pools
        self.unavailable = unavailable
    }

    /// The model with this exact name (its first deployment, for a pool).
    public func deployment(named name: String) -> ModelDeployment? { pools[name]?.first }

    /// A model's deployments, lowest priority first; empty for an unknown name.
    public func pool(named name: String) -> [ModelDeployment] { pools[name] ?? [] }

    /// The deployment with this id.
    public func deployment(id: String) -> ModelDeployment? { deployments.first { $0.id == id } }

    /// Model names in catalog order, each once.
    public var modelNames: [String] {
        var seen: Set<String> = []
        return deployments.compactMap { seen.insert($0.name).inserted ? $0.name : nil }
    }

    /// Whether `name` is a model, a group alias or a provider alias: what may label metrics.
    public func knows(_ name: String) -> Bool {
        pools[name] != nil || groups[name] != nil || ProviderKind.allCases.contains { $0.aliasName == name }
    }

    /// The retry policy for a model.
    public func retryPolicy(for model: String) -> RetryPolicy { retryPolicies[model] ?? retryPolicy }

    /// A copy with deployments replaced (same ids) and `disabled` (model names or deployment ids) deactivated.
    public func replacing(_ deployments: [ModelDeployment], disabled: Set<String>) -> ModelCatalog {
        var copy = self
        copy.deployments = deployments
        copy.disabledNames = disabled
        copy.index()
        return copy
    }

    /// Why `name` cannot be routed (every deployment's reason, for a pool), or nil when it can.
    public func unavailableReason(_ name: String) -> String? {
        let pool = pools[name] ?? []
        let reasons = pool.compactMap { deployment in
            unavailable[deployment.id].map { pool.count > 1 ? "\(deployment.id): \($0)" : $0 }
        }
        return reasons.count == pool.count && !pool.isEmpty ? reasons.joined(separator: "; ") : nil
    }

    /// Why one deployment cannot be routed, or nil when it can.
    public func unavailableReason(deployment id: String) -> String? { unavailable[id] }

    /// Whether a model exists and one of its deployments has what it needs to be called.
    public func isRoutable(_ name: String) -> Bool {
        (pools[name] ?? []).contains { unavailable[$0.id] == nil }
    }

    /// Provider aliases (`openai`, `anthropic`, `google`...) with the models each covers.
    public var providerAliases: [String: [String]] {
        var aliases: [String: [String]] = [:]
        for deployment in deployments where !(aliases[deployment.provider.aliasName] ?? []).contains(deployment.name) {
            aliases[deployment.provider.aliasName, default: []].append(deployment.name)
        }
        return aliases
    }

    /// Resolves a client's model name (exact model, group alias or provider alias) to the
    /// deployments that may serve it, in preference order (a pool's by priority).
    ///
    /// - Throws: 404 for an unknown name, 400 for a model of the wrong mode, 503 when the name is
    ///   known but nothing behind it can be called (saying why).
    public func resolve(_ name: String, mode: ModelMode) throws(GatewayError) -> [RoutableDeployment] {
        let candidates: [String]
        if let pool = pools[name] {
            guard pool[0].mode == mode else { throw .wrongModelMode(name, expected: mode.rawValue) }
            candidates = [name]
        } else if let members = groups[name] {
            candidates = members
        } else if let members = providerAliases[name] {
            candidates = members
        } else {
            throw .modelNotFound(name)
        }
        var routable: [RoutableDeployment] = []
        var reasons: [String] = []
        for candidate in candidates {
            for deployment in pools[candidate] ?? [] where deployment.mode == mode {
                if let reason = unavailable[deployment.id] {
                    reasons.append("\(deployment.id): \(reason)")
                } else if let set = credentials[deployment.credentials] {
                    routable.append(RoutableDeployment(deployment: deployment, credentials: set))
                }
            }
        }
        guard !routable.isEmpty else {
            if reasons.isEmpty { throw .wrongModelMode(name, expected: mode.rawValue) }
            throw .noDeployment("The model '\(name)' is not available: \(reasons.joined(separator: "; ")).")
        }
        return routable
    }

    /// `resolve`, followed by the deployments of the model's fallback chain (each resolved the same
    /// way, unavailable ones skipped), without repeats.
    public func resolveWithFallbacks(_ name: String, mode: ModelMode) throws(GatewayError) -> [RoutableDeployment] {
        var chain: [RoutableDeployment]
        var primaryError: GatewayError?
        do {
            chain = try resolve(name, mode: mode)
        } catch {
            // A model whose own deployments are unavailable may still be served by its fallbacks.
            guard pools[name] != nil, fallbacks[name] != nil else { throw error }
            chain = []
            primaryError = error
        }
        var seen = Set(chain.map(\.deployment.id))
        for fallback in fallbacks[name] ?? [] {
            guard let more = try? resolve(fallback, mode: mode) else { continue }
            for target in more where seen.insert(target.deployment.id).inserted { chain.append(target) }
        }
        if chain.isEmpty, let primaryError { throw primaryError }
        return chain
    }

    /// Names a client may pass as `model` that can currently be served: models (each once, a pool
    /// too), then aliases.
    public func routableNames(mode: ModelMode? = nil) -> [(name: String, ownedBy: String, isAlias: Bool)] {
        var names: [(String, String, Bool)] = []
        for name in modelNames {
            guard let first = pools[name]?.first, isRoutable(name), mode == nil || first.mode == mode else { continue }
            names.append((name, first.provider.aliasName, false))
        }
        let aliases = groups.merging(providerAliases) { group, _ in group }
        for alias in aliases.keys.sorted() where pools[alias] == nil {
            if aliases[alias]!.contains(where: { isRoutable($0) && (mode == nil || pools[$0]?.first?.mode == mode) }) {
                names.append((alias, "scutum-alias", true))
            }
        }
        return names
    }

    /// A copy with other groups and fallback chains.
    public func with(groups: [String: [String]], fallbacks: [String: [String]]) -> ModelCatalog {
        var copy = self
        copy.groups = groups
        copy.fallbacks = fallbacks
        return copy
    }

    /// The same catalog with every deployment pointing at one mock upstream (the demo's), which
    /// speaks every provider's wire format.
    ///
    /// `root` is the mock's URL without a path. OpenAI-style kinds use `root/v1` as their base; the
    /// others use `root` as their endpoint, Vertex with `vertexServiceAccount` (a key whose
    /// `token_uri` is the mock's) and Bedrock with dummy AWS keys. Deployments keep their names,
    /// providers and upstream model ids.
    public func pointingEverything(atRoot root: String, apiKey: String, vertexServiceAccount: String? = nil)
        -> ModelCatalog
    {
        let root = root.hasSuffix("/") ? String(root.dropLast()) : root
        var credentials: [String: ProviderCredentials] = [:]
        for kind in ProviderKind.allCases {
            let name = "mock-\(kind.rawValue)"
            credentials[name] = switch kind {
            case .openai, .xai, .deepseek, .openaiCompatible:
                ProviderCredentials(name: name, apiKey: apiKey, apiBase: root + "/v1")
            case .azure:
                ProviderCredentials(name: name, apiKey: apiKey, apiBase: root, apiVersion: "2024-10-21")
            case .anthropic, .gemini:
                ProviderCredentials(name: name, apiKey: apiKey, apiBase: root)
            case .vertex:
                ProviderCredentials(name: name, apiBase: root, extra: [
                    "credentials_json": vertexServiceAccount ?? "", "project": "scutum-demo", "location": "us-central1",
                ])
            case .bedrock:
                ProviderCredentials(name: name, apiKey: "AKIASCUTUMDEMO000001", apiBase: root,
                    extra: ["secret_key": apiKey, "region": "us-east-1"])
            }
        }
        let deployments = self.deployments.map { deployment in
            var deployment = deployment
            deployment.credentials = "mock-\(deployment.provider.rawValue)"
            return deployment
        }
        return ModelCatalog(deployments: deployments, groups: groups, fallbacks: fallbacks,
            credentials: credentials, supportedKinds: Set(ProviderKind.allCases), retryPolicy: retryPolicy,
            retryPolicies: retryPolicies, defaultStrategy: defaultStrategy)
    }

    /// Whether any credential set would let some model be called.
    public var hasAnyProviderCredentials: Bool {
        deployments.contains { unavailable[$0.id] == nil }
    }
}
