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

/// One model the gateway can route to: a name clients use, mapped to a provider's model.
public struct ModelDeployment: Sendable, Hashable {
    /// The name clients use (`claude-sonnet-4.5`).
    public var name: String
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
    public var rpm: Int?
    public var tpm: Int?
    public var contextWindow: Int?
    public var maxOutputTokens: Int?
    /// Whether `/v1/responses` may pass through to this deployment's own Responses API (OpenAI and
    /// Azure OpenAI have one; `responses_api: translated` in the catalog turns it off).
    public var nativeResponses: Bool

    public init(name: String, provider: ProviderKind, upstreamModel: String, credentials: String? = nil,
        mode: ModelMode = .chat, inputCostPerToken: Double = 0, outputCostPerToken: Double = 0, rpm: Int? = nil,
        tpm: Int? = nil, contextWindow: Int? = nil, maxOutputTokens: Int? = nil, nativeResponses: Bool = true)
    {
        self.nativeResponses = nativeResponses
        self.name = name
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.credentials = credentials ?? provider.rawValue
        self.mode = mode
        self.inputCostPerToken = inputCostPerToken
        self.outputCostPerToken = outputCostPerToken
        self.rpm = rpm
        self.tpm = tpm
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
    }

    /// USD cost of a call with this usage.
    public func cost(of usage: TokenUsage) -> Double {
        Double(usage.promptTokens) * inputCostPerToken + Double(usage.completionTokens) * outputCostPerToken
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
    /// Models in the order the catalog lists them.
    public let deployments: [ModelDeployment]
    /// Group aliases (`fast`, `smart`...) to model names, in preference order.
    public let groups: [String: [String]]
    /// Fallback chains: model name to the models tried after it, in order.
    public let fallbacks: [String: [String]]
    public let credentials: [String: ProviderCredentials]
    /// Provider kinds this node has an adapter for.
    public let supportedKinds: Set<ProviderKind>

    private let byName: [String: ModelDeployment]
    /// Why a model cannot be routed, by name; absent when it can.
    private let unavailable: [String: String]
    /// Models an operator deactivated.
    public let disabledNames: Set<String>

    public init(deployments: [ModelDeployment], groups: [String: [String]] = [:], fallbacks: [String: [String]] = [:],
        credentials: [String: ProviderCredentials], supportedKinds: Set<ProviderKind>, disabled: Set<String> = [])
    {
        self.deployments = deployments
        self.groups = groups
        self.fallbacks = fallbacks
        self.credentials = credentials
        self.supportedKinds = supportedKinds
        self.disabledNames = disabled
        var byName: [String: ModelDeployment] = [:]
        var unavailable: [String: String] = [:]
        for deployment in deployments {
            byName[deployment.name] = deployment
            if disabled.contains(deployment.name) {
                unavailable[deployment.name] = "an operator has deactivated it"
            } else if !supportedKinds.contains(deployment.provider) {
                unavailable[deployment.name] = "the \(deployment.provider.rawValue) adapter is not enabled on this gateway"
            } else if let set = credentials[deployment.credentials] {
                if let missing = set.missing(for: deployment.provider) {
                    unavailable[deployment.name] = "provider \(deployment.provider.rawValue) has \(missing)"
                }
            } else {
                unavailable[deployment.name] = "its credentials '\(deployment.credentials)' are not configured"
            }
        }
        self.byName = byName
        self.unavailable = unavailable
    }

    /// The model with this exact name.
    public func deployment(named name: String) -> ModelDeployment? { byName[name] }

    /// Whether `name` is a model, a group alias or a provider alias: what may label metrics.
    public func knows(_ name: String) -> Bool {
        byName[name] != nil || groups[name] != nil || ProviderKind.allCases.contains { $0.aliasName == name }
    }

    /// A copy with some deployments replaced (same names) and `disabled` deactivated.
    public func replacing(_ deployments: [ModelDeployment], disabled: Set<String>) -> ModelCatalog {
        ModelCatalog(deployments: deployments, groups: groups, fallbacks: fallbacks, credentials: credentials,
            supportedKinds: supportedKinds, disabled: disabled)
    }

    /// Why `name` cannot be routed, or nil when it can.
    public func unavailableReason(_ name: String) -> String? { unavailable[name] }

    /// Whether a model exists and has what it needs to be called.
    public func isRoutable(_ name: String) -> Bool { byName[name] != nil && unavailable[name] == nil }

    /// Provider aliases (`openai`, `anthropic`, `google`...) with the models each covers.
    public var providerAliases: [String: [String]] {
        var aliases: [String: [String]] = [:]
        for deployment in deployments {
            aliases[deployment.provider.aliasName, default: []].append(deployment.name)
        }
        return aliases
    }

    /// Resolves a client's model name (exact model, group alias or provider alias) to the
    /// deployments that may serve it, in preference order.
    ///
    /// - Throws: 404 for an unknown name, 400 for a model of the wrong mode, 503 when the name is
    ///   known but nothing behind it can be called (saying why).
    public func resolve(_ name: String, mode: ModelMode) throws(GatewayError) -> [RoutableDeployment] {
        let candidates: [String]
        if let deployment = byName[name] {
            guard deployment.mode == mode else { throw .wrongModelMode(name, expected: mode.rawValue) }
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
            guard let deployment = byName[candidate], deployment.mode == mode else { continue }
            if let reason = unavailable[candidate] {
                reasons.append("\(candidate): \(reason)")
            } else if let set = credentials[deployment.credentials] {
                routable.append(RoutableDeployment(deployment: deployment, credentials: set))
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
            guard byName[name] != nil, fallbacks[name] != nil else { throw error }
            chain = []
            primaryError = error
        }
        var seen = Set(chain.map(\.deployment.name))
        for fallback in fallbacks[name] ?? [] {
            guard let more = try? resolve(fallback, mode: mode) else { continue }
            for target in more where seen.insert(target.deployment.name).inserted { chain.append(target) }
        }
        if chain.isEmpty, let primaryError { throw primaryError }
        return chain
    }

    /// Names a client may pass as `model` that can currently be served: models, then aliases.
    public func routableNames(mode: ModelMode? = nil) -> [(name: String, ownedBy: String, isAlias: Bool)] {
        var names: [(String, String, Bool)] = []
        for deployment in deployments where isRoutable(deployment.name) && (mode == nil || deployment.mode == mode) {
            names.append((deployment.name, deployment.provider.aliasName, false))
        }
        let aliases = groups.merging(providerAliases) { group, _ in group }
        for alias in aliases.keys.sorted() where byName[alias] == nil {
            if aliases[alias]!.contains(where: { isRoutable($0) && (mode == nil || byName[$0]?.mode == mode) }) {
                names.append((alias, "scutum-alias", true))
            }
        }
        return names
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
            credentials: credentials, supportedKinds: Set(ProviderKind.allCases))
    }

    /// Whether any credential set would let some model be called.
    public var hasAnyProviderCredentials: Bool {
        deployments.contains { isRoutable($0.name) }
    }
}
