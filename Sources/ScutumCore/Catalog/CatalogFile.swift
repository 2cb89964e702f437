import Foundation
import Yams

/// The YAML model catalog (`config/models.yaml`): credentials, models, group aliases, fallbacks.
///
/// Values may reference the environment as `${NAME}` or `${NAME:-default}`.
public struct CatalogFile: Codable, Sendable {
    public struct Credentials: Codable, Sendable {
        public var api_key: String?
        public var api_base: String?
        public var api_version: String?
        public var extra: [String: String]?
    }

    public struct Model: Codable, Sendable {
        public var model_name: String
        public var provider: String
        /// The provider's model id (or Azure deployment name).
        public var model: String
        /// Which credential set; defaults to the provider's name.
        public var credentials: String?
        public var mode: ModelMode?
        public var input_cost_per_token: Double?
        public var output_cost_per_token: Double?
        public var rpm: Int?
        public var tpm: Int?
        public var context_window: Int?
        public var max_output_tokens: Int?
        /// `native` (the default) or `translated`: how `/v1/responses` reaches an OpenAI or Azure
        /// deployment (a server without the Responses API needs `translated`).
        public var responses_api: String?

        // A pool: several entries with one `model_name` are deployments of one model.
        /// The deployment's own id (unique in the catalog); defaults to the model name for a model
        /// with one deployment and to `model_name#N` (N counting from 1) in a pool.
        public var id: String?
        /// Share of the pool's traffic under `simple-shuffle` (default: its `rpm`, else 1).
        public var weight: Double?
        /// Lower goes first: a pool's deployments of the lowest priority serve while any can; the
        /// next priority only takes over when they are all unavailable (default 0).
        public var priority: Int?
        // Endpoint settings of this deployment alone, over its credential set's.
        public var api_key: String?
        public var api_base: String?
        public var api_version: String?
        /// Shorthand for `extra.region` (Bedrock, Vertex's location is `extra.location`).
        public var region: String?
        public var extra: [String: String]?

        // Prices beyond input and output (USD per token), in LiteLLM's names.
        public var cache_read_input_token_cost: Double?
        public var cache_creation_input_token_cost: Double?
        public var cache_creation_input_token_cost_above_1hr: Double?
        public var output_cost_per_reasoning_token: Double?
        /// Long-context tiers: each applies to a whole call whose prompt exceeds `above_tokens`.
        public var tiers: [PriceTier]?
        /// Places Anthropic cache breakpoints itself: `auto` marks the system prompt and the tool
        /// list when they are long enough to be cached (`off`, the default, forwards only the caller's).
        public var cache_breakpoints: String?
    }

    /// A long-context price tier in the catalog.
    public struct PriceTier: Codable, Sendable {
        public var above_tokens: Int
        public var input_cost_per_token: Double?
        public var output_cost_per_token: Double?
        public var cache_read_input_token_cost: Double?
        public var cache_creation_input_token_cost: Double?
    }

    public var credentials: [String: Credentials]?
    public var models: [Model]
    public var aliases: [String: [String]]?
    public var fallbacks: [String: [String]]?
    /// The retry policy of every model without one of its own.
    public var retry_policy: RetryPolicyEntry?
    /// Retry policies by model name (over `retry_policy`).
    public var retry_policies: [String: RetryPolicyEntry]?
    /// The routing strategy when no routing policy sets one (`simple-shuffle`, `least-busy`,
    /// `latency-based`, `usage-based`, `cost-based`); it orders pools and aliases.
    public var routing_strategy: String?

    /// Errors in the catalog file, each naming what is wrong.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Parses YAML text.
    public static func parse(_ yaml: String) throws -> CatalogFile {
        do {
            return try YAMLDecoder().decode(CatalogFile.self, from: yaml)
        } catch {
            throw Invalid(description: "model catalog: \(error)")
        }
    }

    /// Builds the catalog, reading `${VAR}` references from `environment`.
    public func catalog(environment: [String: String], supportedKinds: Set<ProviderKind>) throws -> ModelCatalog {
        var sets: [String: ProviderCredentials] = [:]
        for (name, entry) in credentials ?? [:] {
            let expand = { (value: String?) in value.map { Self.interpolate($0, environment: environment) } }
            sets[name] = ProviderCredentials(
                name: name, apiKey: expand(entry.api_key), apiBase: expand(entry.api_base),
                apiVersion: expand(entry.api_version),
                extra: (entry.extra ?? [:]).mapValues { Self.interpolate($0, environment: environment) })
        }
        let poolSizes = Dictionary(grouping: models, by: \.model_name).mapValues(\.count)
        var positions: [String: Int] = [:]
        var ids: Set<String> = []
        var modes: [String: ModelMode] = [:]
        var deployments: [ModelDeployment] = []
        for model in models {
            let name = model.model_name
            guard let kind = ProviderKind(rawValue: model.provider) else {
                let known = ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw Invalid(description: "model \(name): unknown provider '\(model.provider)' (known: \(known))")
            }
            let position = positions[name, default: 0] + 1
            positions[name] = position
            let id = model.id ?? (poolSizes[name] == 1 ? name : "\(name)#\(position)")
            guard !id.isEmpty, ids.insert(id).inserted else {
                throw Invalid(description: "model \(name): deployment id '\(id)' is used twice (give each deployment its own `id`)")
            }
            let mode = model.mode ?? .chat
            if let poolMode = modes[name], poolMode != mode {
                throw Invalid(description: "model \(name): its deployments mix \(poolMode.rawValue) and \(mode.rawValue) modes")
            }
            modes[name] = mode
            let nativeResponses: Bool
            switch model.responses_api {
            case nil, "native": nativeResponses = true
            case "translated": nativeResponses = false
            case let other?:
                throw Invalid(description: "model \(name): responses_api '\(other)' must be native or translated")
            }
            let autoBreakpoints: Bool
            switch model.cache_breakpoints {
            case nil, "off": autoBreakpoints = false
            case "auto": autoBreakpoints = true
            case let other?:
                throw Invalid(description: "model \(name): cache_breakpoints '\(other)' must be auto or off")
            }
            if let weight = model.weight, !(weight >= 0 && weight.isFinite) {
                throw Invalid(description: "model \(name): weight must be a number of 0 or more")
            }
            for tier in model.tiers ?? [] where tier.above_tokens <= 0 {
                throw Invalid(description: "model \(name): a price tier's above_tokens must be positive")
            }
            let base = model.credentials ?? kind.rawValue
            var credentialsName = base
            if model.api_key != nil || model.api_base != nil || model.api_version != nil || model.region != nil
                || model.extra != nil
            {
                // Settings of this deployment alone: its own set, over the named one's.
                let expand = { (value: String?) in value.map { Self.interpolate($0, environment: environment) } }
                let inherited = sets[base] ?? ProviderCredentials(name: base)
                var extra = inherited.extra
                for (key, value) in model.extra ?? [:] { extra[key] = Self.interpolate(value, environment: environment) }
                if let region = expand(model.region) { extra["region"] = region }
                credentialsName = "deployment:\(id)"
                sets[credentialsName] = ProviderCredentials(name: credentialsName,
                    apiKey: expand(model.api_key) ?? inherited.apiKey, apiBase: expand(model.api_base) ?? inherited.apiBase,
                    apiVersion: expand(model.api_version) ?? inherited.apiVersion, extra: extra)
            }
            let pricing = ModelPricing(cacheReadCostPerToken: model.cache_read_input_token_cost,
                cacheWriteCostPerToken: model.cache_creation_input_token_cost,
                cacheWrite1hCostPerToken: model.cache_creation_input_token_cost_above_1hr,
                reasoningCostPerToken: model.output_cost_per_reasoning_token,
                tiers: (model.tiers ?? []).map {
                    ModelPricing.Tier(aboveTokens: $0.above_tokens, inputCostPerToken: $0.input_cost_per_token,
                        outputCostPerToken: $0.output_cost_per_token, cacheReadCostPerToken: $0.cache_read_input_token_cost,
                        cacheWriteCostPerToken: $0.cache_creation_input_token_cost)
                })
            deployments.append(ModelDeployment(
                name: name, provider: kind, upstreamModel: model.model, credentials: credentialsName,
                mode: mode, inputCostPerToken: model.input_cost_per_token ?? 0,
                outputCostPerToken: model.output_cost_per_token ?? 0, rpm: model.rpm, tpm: model.tpm,
                contextWindow: model.context_window, maxOutputTokens: model.max_output_tokens,
                nativeResponses: nativeResponses, id: id, weight: model.weight, priority: model.priority ?? 0,
                pricing: pricing, autoCacheBreakpoints: autoBreakpoints))
        }
        let seen = Set(poolSizes.keys)
        for (alias, members) in aliases ?? [:] {
            if seen.contains(alias) { throw Invalid(description: "alias \(alias) has the name of a model") }
            for member in members where !seen.contains(member) {
                throw Invalid(description: "alias \(alias) names unknown model \(member)")
            }
        }
        for (model, chain) in fallbacks ?? [:] {
            for member in [model] + chain where !seen.contains(member) {
                throw Invalid(description: "fallback chain of \(model) names unknown model \(member)")
            }
        }
        let defaultPolicy = try retry_policy?.policy(over: .standard, context: "retry_policy") ?? .standard
        var policies: [String: RetryPolicy] = [:]
        for (model, entry) in retry_policies ?? [:] {
            guard seen.contains(model) else {
                throw Invalid(description: "retry_policies names unknown model \(model)")
            }
            policies[model] = try entry.policy(over: defaultPolicy, context: "retry policy of \(model)")
        }
        var strategy: RoutingRules.Strategy?
        if let name = routing_strategy {
            guard let chosen = RoutingRules.Strategy(rawValue: name) else {
                let known = RoutingRules.Strategy.allCases.map(\.rawValue).joined(separator: ", ")
                throw Invalid(description: "routing_strategy '\(name)' is not one of: \(known)")
            }
            strategy = chosen
        }
        return ModelCatalog(deployments: deployments, groups: aliases ?? [:], fallbacks: fallbacks ?? [:],
            credentials: sets, supportedKinds: supportedKinds, retryPolicy: defaultPolicy, retryPolicies: policies,
            defaultStrategy: strategy)
    }

    /// Replaces `${NAME}` and `${NAME:-default}` with values from `environment`.
    public static func interpolate(_ text: String, environment: [String: String]) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                result += rest[open.lowerBound...]
                return result
            }
            let reference = rest[open.upperBound..<close]
            let parts = reference.split(separator: ":-", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let fallback = parts.count > 1 ? String(parts[1]) : ""
            let value = environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
            result += value
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
