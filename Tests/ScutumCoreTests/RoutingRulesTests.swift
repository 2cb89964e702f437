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
