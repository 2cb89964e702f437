import ScutumCore
import Testing

@Suite("Routing rules from policies")
struct RoutingRulesTests {
    static let models = [
        ModelDeployment(name: "a", provider: .openai, upstreamModel: "a", inputCostPerToken: 3, outputCostPerToken: 3, rpm: 100),
        ModelDeployment(name: "b", provider: .openai, upstreamModel: "b", inputCostPerToken: 1, outputCostPerToken: 1, rpm: 300),
        ModelDeployment(name: "c", provider: .openai, upstreamModel: "c", inputCostPerToken: 2, outputCostPerToken: 2),
    ]

    @Test("the highest-priority policy about a model or alias wins; unknown types are ignored")
    func precedence() {
        let rules = RoutingRules(policies: [
            ("fallback", ["model": "a", "fallbacks": ["b"]]),
            ("fallback", ["model": "a", "fallbacks": ["c"]]),
            ("model_group", ["alias": "g", "models": ["a", "b"]]),
            ("routing_strategy", ["strategy": "cost-based"]),
            ("routing_strategy", ["strategy": "simple-shuffle"]),
            ("conditional", ["condition": [:], "source_model": "a", "redirect_to": "b"]),
        ])
        #expect(rules.fallbacks == ["a": ["b"]])
        #expect(rules.groups == ["g": ["a", "b"]])
        #expect(rules.strategy == .costBased)
    }

    @Test("cost-based puts the cheapest first, keeping the listed order on ties")
    func costBased() {
        var rules = RoutingRules()
        rules.strategy = .costBased
        #expect(rules.order(Self.models) { 0 }.map(\.name) == ["b", "c", "a"])
    }

    @Test("simple-shuffle draws by weight: rpm, explicit weights, else equal")
    func shuffle() {
        var rules = RoutingRules()
        rules.strategy = .simpleShuffle
        // Weights by rpm: a 100, b 300, c 1 (none). A draw of 0.5 of 401 lands in b's share.
        #expect(rules.order(Self.models) { 0.5 }.first?.name == "b")
        #expect(rules.order(Self.models) { 0.0 }.first?.name == "a")
        #expect(rules.order(Self.models) { 0.999 }.first?.name == "c")
        rules.weights = ["c": 1000]
        #expect(rules.order(Self.models) { 0.5 }.first?.name == "c")
        // Every member appears once, whatever the draws.
        #expect(Set(rules.order(Self.models) { 0.3 }.map(\.name)) == ["a", "b", "c"])
    }

    @Test("least-busy puts the member with fewest calls in progress first; ties keep the listed order")
    func leastBusy() {
        var rules = RoutingRules()
        rules.strategy = .leastBusy
        let busy: [String: Int] = ["a": 3, "b": 1, "c": 1]
        #expect(rules.order(Self.models, random: { 0 }, load: { DeploymentLoad(inFlight: busy[$0] ?? 0) }).map(\.name)
            == ["b", "c", "a"])
        #expect(rules.order(Self.models, random: { 0 }, load: { _ in .idle }).map(\.name) == ["a", "b", "c"])
    }

    @Test("latency-based puts unmeasured members first, then the fastest")
    func latencyBased() {
        var rules = RoutingRules()
        rules.strategy = .latencyBased
        let seen: [String: Double] = ["a": 0.9, "b": 0.2]
        #expect(rules.order(Self.models, random: { 0 }, load: { DeploymentLoad(latencySeconds: seen[$0]) }).map(\.name)
            == ["c", "b", "a"])
    }

    @Test("usage-based puts the member with the smallest share of its tpm used first, requests breaking ties")
    func usageBased() {
        let members = [
            ModelDeployment(name: "a", provider: .openai, upstreamModel: "a", tpm: 1000),
            ModelDeployment(name: "b", provider: .openai, upstreamModel: "b", tpm: 10_000),
            ModelDeployment(name: "c", provider: .openai, upstreamModel: "c", tpm: 10_000),
        ]
        var rules = RoutingRules()
        rules.strategy = .usageBased
        // a: 50% of its tpm; b: 10% with 10 requests; c: 10% with 3 requests.
        let seen: [String: DeploymentLoad] = [
            "a": DeploymentLoad(requestsLastMinute: 1, tokensLastMinute: 500),
            "b": DeploymentLoad(requestsLastMinute: 10, tokensLastMinute: 1000),
            "c": DeploymentLoad(requestsLastMinute: 3, tokensLastMinute: 1000),
        ]
        #expect(rules.order(members, random: { 0 }, load: { seen[$0] ?? .idle }).map(\.name) == ["c", "b", "a"])
    }

    @Test("conditional policies redirect matching requests by team, key alias, metadata or prompt size")
    func conditional() {
        let rules = RoutingRules(policies: [
            ("conditional", ["condition": ["team_id": ["free", "trial"]], "source_model": "a", "redirect_to": "b"]),
            ("conditional", ["condition": ["metadata": ["tier": "gold"]], "source_model": "a", "redirect_to": "c"]),
            ("conditional", ["condition": ["min_prompt_tokens": 1000], "source_model": "b", "redirect_to": "big"]),
            ("conditional", ["condition": ["colour": "red"], "source_model": "a", "redirect_to": "x"]),
        ])
        #expect(rules.conditionals.count == 3, "a condition with an unknown field is ignored")
        typealias Facts = ConditionalRoute.RequestFacts
        #expect(rules.redirect("a", Facts(teamID: "trial")) == "b")
        #expect(rules.redirect("a", Facts(teamID: "paying")) == "a")
        #expect(rules.redirect("a", Facts(teamID: "paying", metadata: ["tier": "gold"])) == "c")
        #expect(rules.redirect("a", Facts(metadata: ["tier": "silver"])) == "a")
        #expect(rules.redirect("a", Facts()) == "a", "no key: no team, no metadata")
        #expect(rules.redirect("b", Facts(promptTokens: 999)) == "b")
        #expect(rules.redirect("b", Facts(promptTokens: 1000)) == "big")
        // Redirects do not chain: a's redirect to b is not redirected again.
        #expect(rules.redirect("a", Facts(teamID: "free", promptTokens: 5000)) == "b")
    }

    @Test("a catalog takes the rules' chains and groups over its own")
    func catalog() {
        let catalog = ModelCatalog(deployments: Self.models, groups: ["g": ["a"]], fallbacks: ["a": ["c"]],
            credentials: ["openai": ProviderCredentials(name: "openai", apiKey: "k")], supportedKinds: [.openai])
        var rules = RoutingRules()
        rules.fallbacks = ["a": ["b"]]
        rules.groups = ["h": ["b", "c"]]
        let applied = catalog.applying(rules)
        #expect(applied.fallbacks["a"] == ["b"])
        #expect(applied.groups["g"] == ["a"] && applied.groups["h"] == ["b", "c"])
    }
}
