/// What the operators' routing policies change in the catalog: fallback chains, model groups
/// (aliases), and the strategy that orders a group's members.
public struct RoutingRules: Sendable, Equatable {
    /// How a group's members are ordered for each request.
    public enum Strategy: String, Sendable, CaseIterable {
        /// Random, weighted by `args.weights[deployment id]`, else the deployment's `weight`, else
        /// `args.weights[model]`, else its rpm, else equally.
        case simpleShuffle = "simple-shuffle"
        /// Cheapest first (input plus output price per token).
        case costBased = "cost-based"
        /// Fewest calls in progress first.
        case leastBusy = "least-busy"
        /// Fastest smoothed answer first; members not yet measured go first, so they get measured.
        case latencyBased = "latency-based"
        /// Least used in the last minute first: tokens as a share of the member's `tpm` (else
        /// plain tokens), then requests as a share of its `rpm`.
        case usageBased = "usage-based"
    }

    public var fallbacks: [String: [String]] = [:]
    public var groups: [String: [String]] = [:]
    public var strategy: Strategy?
    /// Per-model weights for `simple-shuffle`.
    public var weights: [String: Double] = [:]
    /// Conditional redirects, highest priority first; the first that matches a request applies.
    public var conditionals: [ConditionalRoute] = []

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
            case "conditional":
                guard let source = config["source_model"]?.stringValue,
                    let target = config["redirect_to"]?.stringValue,
                    let condition = config["condition"].flatMap(ConditionalRoute.Condition.init)
                else { continue }
                conditionals.append(ConditionalRoute(sourceModel: source, redirectTo: target, condition: condition))
            default:
                continue
            }
        }
    }

    /// The model a request for `model` should be served as: the first matching conditional
    /// redirect's target, else `model` itself. Redirects do not chain.
    public func redirect(_ model: String, _ facts: @autoclosure () -> ConditionalRoute.RequestFacts) -> String {
        guard !conditionals.isEmpty else { return model }
        let facts = facts()
        return conditionals.first { $0.sourceModel == model && $0.condition.matches(facts) }?.redirectTo ?? model
    }

    /// The order to try a group's members in; `random` draws in [0, 1), `load` says what this node
    /// has seen of each member. Ties keep the group's own order.
    public func order(_ members: [ModelDeployment], random: () -> Double,
        load: (String) -> DeploymentLoad = { _ in .idle }) -> [ModelDeployment]
    {
        switch strategy {
        case .costBased?:
            return Self.stableSorted(members) { $0.inputCostPerToken + $0.outputCostPerToken }
        case .leastBusy?:
            return Self.stableSorted(members) { Double(load($0.id).inFlight) }
        case .latencyBased?:
            return Self.stableSorted(members) { load($0.id).latencySeconds ?? -1 }
        case .usageBased?:
            return Self.stableSorted(members) { member in
                let seen = load(member.id)
                let tokens = Double(seen.tokensLastMinute) / Double(max(1, member.tpm ?? 1))
                let requests = Double(seen.requestsLastMinute) / Double(max(1, member.rpm ?? 1))
                // Tokens decide; requests only break ties between equally used members.
                return tokens + requests * 1e-9
            }
        case .simpleShuffle?:
            var remaining = members
            var ordered: [ModelDeployment] = []
            while !remaining.isEmpty {
                let shares = remaining.map {
                    self.weights[$0.id] ?? $0.weight ?? self.weights[$0.name] ?? $0.rpm.map(Double.init) ?? 1
                }
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
        case nil:
            return members
        }
    }

    /// `members` by ascending `score`, equal scores in their original order.
    static func stableSorted(_ members: [ModelDeployment], by score: (ModelDeployment) -> Double) -> [ModelDeployment] {
        let scored: [(offset: Int, member: ModelDeployment, score: Double)] =
            members.enumerated().map { entry in (entry.offset, entry.element, score(entry.element)) }
        let sorted = scored.sorted { lhs, rhs in
            lhs.score == rhs.score ? lhs.offset < rhs.offset : lhs.score < rhs.score
        }
        return sorted.map(\.member)
    }
}

extension ModelCatalog {
    /// A copy with the rules' fallback chains and groups in place of the file's (same names replaced).
    public func applying(_ rules: RoutingRules) -> ModelCatalog {
        guard !rules.fallbacks.isEmpty || !rules.groups.isEmpty else { return self }
        return with(groups: groups.merging(rules.groups) { _, new in new },
            fallbacks: fallbacks.merging(rules.fallbacks) { _, new in new })
    }
}
