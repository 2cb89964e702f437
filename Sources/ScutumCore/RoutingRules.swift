/// What the operators' routing policies change in the catalog: fallback chains, model groups
/// (aliases), and the strategy that orders a group's members.
public struct RoutingRules: Sendable, Equatable {
    /// How a group's members are ordered for each request.
    public enum Strategy: String, Sendable, CaseIterable {
        /// Random, weighted by `args.weights[model]`, else the model's rpm, else equally.
        case simpleShuffle = "simple-shuffle"
        /// Cheapest first (input plus output price per token).
        case costBased = "cost-based"
        case leastBusy = "least-busy"
        case latencyBased = "latency-based"
        case usageBased = "usage-based"
    }

    public var fallbacks: [String: [String]] = [:]
    public var groups: [String: [String]] = [:]
    public var strategy: Strategy?
    /// Per-model weights for `simple-shuffle`.
    public var weights: [String: Double] = [:]

    public init() {}

    /// Builds the rules from enabled policies, given highest priority first: the first policy to
    /// speak about a model or alias wins.
    public init(policies: [(type: String, config: JSONValue)]) {
        for (type, config) in policies {
            switch type {
            case "fallback":
                guard let model = config["model"]?.stringValue, fallbacks[model] == nil,
                    let chain = config["fallbacks"]?.arrayValue?.compactMap(\.stringValue)
                else { continue }
                fallbacks[model] = chain
            case "model_group":
                guard let alias = config["alias"]?.stringValue, groups[alias] == nil,
                    let models = config["models"]?.arrayValue?.compactMap(\.stringValue)
                else { continue }
                groups[alias] = models
            case "routing_strategy":
                guard strategy == nil, let name = config["strategy"]?.stringValue,
                    let chosen = Strategy(rawValue: name)
                else { continue }
                strategy = chosen
                for (model, weight) in config["args"]?["weights"]?.objectValue ?? [:] {
                    if let number = weight.doubleValue { weights[model] = number }
                }
            default:
                continue
            }
        }
    }

    /// The order to try a group's members in; `random` draws in [0, 1).
    public func order(_ members: [ModelDeployment], random: () -> Double) -> [ModelDeployment] {
        switch strategy {
        case .costBased?:
            return members.enumerated().sorted { lhs, rhs in
                let left = lhs.element.inputCostPerToken + lhs.element.outputCostPerToken
                let right = rhs.element.inputCostPerToken + rhs.element.outputCostPerToken
                return left == right ? lhs.offset < rhs.offset : left < right
            }.map(\.element)
        case .simpleShuffle?:
            var remaining = members
            var ordered: [ModelDeployment] = []
            while !remaining.isEmpty {
                let shares = remaining.map { self.weights[$0.name] ?? $0.rpm.map(Double.init) ?? 1 }
                let total = shares.reduce(0, +)
                var pick = random() * total
                var index = remaining.count - 1
                for (position, weight) in shares.enumerated() {
                    if pick < weight { index = position; break }
                    pick -= weight
                }
                ordered.append(remaining.remove(at: index))
            }
            return ordered
        default:
            // least-busy, latency-based and usage-based need live per-deployment statistics, which
            // come with the metrics work; until then the group's own order stands.
            return members
        }
    }
}

extension ModelCatalog {
    /// A copy with the rules' fallback chains and groups in place of the file's (same names replaced).
    public func applying(_ rules: RoutingRules) -> ModelCatalog {
        guard !rules.fallbacks.isEmpty || !rules.groups.isEmpty else { return self }
        return ModelCatalog(deployments: deployments, groups: groups.merging(rules.groups) { _, new in new },
            fallbacks: fallbacks.merging(rules.fallbacks) { _, new in new }, credentials: credentials,
            supportedKinds: supportedKinds, disabled: disabledNames)
    }
}
