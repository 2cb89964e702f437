import Foundation
import ScutumCore
import Testing

/// Pools (several deployments of one model), retry policies and the default strategy, as the catalog
/// file declares them.
@Suite("Catalog pools and retry policies")
struct CatalogPoolTests {
    static let kinds = Set(ProviderKind.allCases)

    func catalog(_ yaml: String, environment: [String: String] = [:]) throws -> ModelCatalog {
        try CatalogFile.parse(yaml).catalog(environment: environment, supportedKinds: Self.kinds)
    }

    func failure(_ yaml: String) -> String? {
        do {
            _ = try catalog(yaml)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static let pool = """
        credentials:
          azure: {api_key: "${AZ_KEY}", api_base: "https://default.example.com", api_version: "2024-10-21"}
          bedrock: {api_key: AKIA, extra: {secret_key: s, region: us-east-1}}
        models:
          - {model_name: gpt-5, provider: azure, model: gpt-5-eu, api_base: "https://eu.example.com", weight: 3, rpm: 100}
          - {model_name: gpt-5, provider: azure, model: gpt-5-us, api_key: "${US_KEY}", weight: 1, id: us}
          - {model_name: gpt-5, provider: azure, model: gpt-5-backup, priority: 1}
          - {model_name: claude, provider: bedrock, model: anthropic.claude, region: eu-west-1}
          - {model_name: solo, provider: azure, model: solo}
        """

    @Test("several entries with one model_name are one model's deployments, with their own ids")
    func poolIDs() throws {
        let catalog = try catalog(Self.pool, environment: ["AZ_KEY": "k", "US_KEY": "u"])
        #expect(catalog.pool(named: "gpt-5").map(\.id) == ["gpt-5#1", "us", "gpt-5#3"])
        #expect(catalog.pool(named: "solo").map(\.id) == ["solo"])
        #expect(catalog.modelNames == ["gpt-5", "claude", "solo"])
        // `/v1/models` lists a pool once.
        #expect(catalog.routableNames(mode: .chat).filter { !$0.isAlias }.map(\.name) == ["gpt-5", "claude", "solo"])
        #expect(catalog.providerAliases["azure"] == ["gpt-5", "solo"])
    }

    @Test("a deployment's own endpoint settings override its credential set's, nothing else")
    func inlineCredentials() throws {
        let catalog = try catalog(Self.pool, environment: ["AZ_KEY": "k", "US_KEY": "u"])
        let targets = try catalog.resolve("gpt-5", mode: .chat)
        let byID = Dictionary(uniqueKeysWithValues: targets.map { ($0.deployment.id, $0.credentials) })
        #expect(byID["gpt-5#1"]?.apiBase == "https://eu.example.com")
        #expect(byID["gpt-5#1"]?.apiKey == "k")
        #expect(byID["us"]?.apiBase == "https://default.example.com")
        #expect(byID["us"]?.apiKey == "u")
        #expect(byID["us"]?.apiVersion == "2024-10-21")
        #expect(byID["gpt-5#3"]?.name == "azure")
        let claude = try #require(try catalog.resolve("claude", mode: .chat).first)
        #expect(claude.credentials.extra == ["secret_key": "s", "region": "eu-west-1"])
        #expect(catalog.credentials["bedrock"]?.extra["region"] == "us-east-1")
    }

    @Test("a pool resolves lowest priority first, catalog order among equals")
    func priorityOrder() throws {
        let catalog = try catalog("""
            credentials: {openai: {api_key: k}}
            models:
              - {model_name: m, provider: openai, model: a, priority: 2}
              - {model_name: m, provider: openai, model: b}
              - {model_name: m, provider: openai, model: c, priority: 1}
              - {model_name: m, provider: openai, model: d}
            """)
        #expect(try catalog.resolve("m", mode: .chat).map(\.deployment.upstreamModel) == ["b", "d", "c", "a"])
    }

    @Test("a deployment without credentials is left out of its pool, and the pool says why when all are")
    func unavailableMembers() throws {
        let catalog = try catalog(Self.pool, environment: ["AZ_KEY": "k"])
        #expect(try catalog.resolve("gpt-5", mode: .chat).map(\.deployment.id) == ["gpt-5#1", "gpt-5#3"])
        #expect(catalog.unavailableReason("gpt-5") == nil)
        #expect(catalog.unavailableReason(deployment: "us") == "provider azure has no API key or endpoint (set AZURE_API_KEY and AZURE_API_BASE)")
        let none = try self.catalog(Self.pool)
        #expect(throws: GatewayError.self) { try none.resolve("gpt-5", mode: .chat) }
        #expect(none.unavailableReason("gpt-5")?.contains("gpt-5#1: provider azure") == true)
        #expect(!none.isRoutable("gpt-5"))
    }

    @Test("an operator can deactivate one deployment by id or the whole model by name")
    func deactivation() throws {
        let catalog = try catalog(Self.pool, environment: ["AZ_KEY": "k", "US_KEY": "u"])
        let one = catalog.replacing(catalog.deployments, disabled: ["us"])
        #expect(try one.resolve("gpt-5", mode: .chat).map(\.deployment.id) == ["gpt-5#1", "gpt-5#3"])
        let all = catalog.replacing(catalog.deployments, disabled: ["gpt-5"])
        #expect(!all.isRoutable("gpt-5"))
    }

    @Test("a fallback chain lists each deployment of a fallback pool once")
    func fallbacksThroughPools() throws {
        let catalog = try catalog("""
            credentials: {openai: {api_key: k}}
            models:
              - {model_name: a, provider: openai, model: a1}
              - {model_name: b, provider: openai, model: b1}
              - {model_name: b, provider: openai, model: b2}
            fallbacks: {a: [b, b]}
            """)
        #expect(try catalog.resolveWithFallbacks("a", mode: .chat).map(\.deployment.id) == ["a", "b#1", "b#2"])
    }

    @Test("invalid pools are refused by name", arguments: [
        ("""
        models:
          - {model_name: m, provider: openai, model: a}
          - {model_name: m, provider: openai, model: e, mode: embedding}
        """, "model m: its deployments mix chat and embedding modes"),
        ("""
        models:
          - {model_name: m, provider: openai, model: a, id: b}
          - {model_name: b, provider: openai, model: x}
        """, "model b: deployment id 'b' is used twice (give each deployment its own `id`)"),
        ("""
        models:
          - {model_name: m, provider: openai, model: a, weight: -1}
        """, "model m: weight must be a number of 0 or more"),
        ("""
        models:
          - {model_name: m, provider: openai, model: a}
        routing_strategy: fastest
        """,
         "routing_strategy 'fastest' is not one of: simple-shuffle, cost-based, least-busy, latency-based, usage-based"),
    ])
    func refused(_ yaml: String, _ expected: String) {
        #expect(failure(yaml) == expected)
    }

    // MARK: Retry policies

    @Test("without a policy, every model has today's behaviour")
    func standardPolicy() throws {
        let catalog = try catalog(Self.pool)
        let policy = catalog.retryPolicy(for: "gpt-5")
        #expect(policy == .standard)
        #expect(policy.retries == 1)
        #expect(policy.backoff == .milliseconds(100))
        #expect(policy.attemptTimeout == nil)
        #expect(policy.action(for: .rateLimit) == .nextDeployment)
        #expect(policy.action(for: .serverError) == .retry)
        #expect(policy.action(for: .timeout) == .retry)
        #expect(policy.action(for: .connection) == .retry)
        #expect(policy.action(for: .malformed) == .nextDeployment)
        #expect(policy.action(for: .contextWindow) == .fallback)
        #expect(policy.action(for: .badRequest) == .fail)
        #expect(policy.action(for: .contentPolicy) == .fail)
        #expect(policy.action(for: .authentication) == .nextDeployment)
        #expect(policy.action(for: .notFound) == .nextDeployment)
    }

    @Test("a default policy and a model's own, over it")
    func policies() throws {
        let catalog = try catalog(Self.pool + """

            retry_policy: {retries: 2, backoff_ms: 50, on: {rate_limit: retry}}
            retry_policies:
              solo: {timeout_seconds: 1.5, on: {server_error: fallback, content_policy: next_deployment}}
            """)
        let base = catalog.retryPolicy(for: "gpt-5")
        #expect(base.retries == 2)
        #expect(base.backoff == .milliseconds(50))
        #expect(base.action(for: .rateLimit) == .retry)
        #expect(base.action(for: .serverError) == .retry)
        let solo = catalog.retryPolicy(for: "solo")
        #expect(solo.retries == 2)
        #expect(solo.attemptTimeout == .milliseconds(1500))
        #expect(solo.action(for: .rateLimit) == .retry)
        #expect(solo.action(for: .serverError) == .fallback)
        #expect(solo.action(for: .contentPolicy) == .nextDeployment)
    }

    @Test("invalid retry policies are refused by name", arguments: [
        ("retry_policy: {retries: -1}", "retry_policy: retries must be between 0 and 10"),
        ("retry_policy: {backoff_ms: 90000}", "retry_policy: backoff_ms must be between 0 and 60000"),
        ("retry_policy: {timeout_seconds: 0}", "retry_policy: timeout_seconds must be above 0 and at most 3600"),
        ("retry_policy: {on: {teapot: retry}}",
         "retry_policy: unknown error class 'teapot' (known: rate_limit, timeout, connection, malformed, server_error, context_window, content_policy, authentication, not_found, bad_request)"),
        ("retry_policy: {on: {timeout: panic}}",
         "retry_policy: unknown action 'panic' for timeout (known: retry, next_deployment, fallback, fail)"),
        ("retry_policies: {nope: {retries: 1}}", "retry_policies names unknown model nope"),
    ])
    func refusedPolicies(_ yaml: String, _ expected: String) {
        #expect(failure("models:\n  - {model_name: m, provider: openai, model: a}\n" + yaml) == expected)
    }

    @Test("backoff doubles per retry, scaled by the jitter")
    func backoff() {
        let policy = RetryPolicy(retries: 3, backoff: .milliseconds(100), attemptTimeout: nil, actions: [:])
        #expect(policy.pause(beforeRetry: 1, jitter: 1) == .milliseconds(100))
        #expect(policy.pause(beforeRetry: 2, jitter: 1) == .milliseconds(200))
        #expect(policy.pause(beforeRetry: 3, jitter: 0.5) == .milliseconds(200))
    }

    // MARK: Weighted shuffle

    @Test("simple-shuffle picks a pool's deployments in proportion to their weights")
    func weightedShuffle() throws {
        let catalog = try catalog("""
            credentials: {openai: {api_key: k}}
            models:
              - {model_name: m, provider: openai, model: a, weight: 6}
              - {model_name: m, provider: openai, model: b, weight: 3}
              - {model_name: m, provider: openai, model: c, weight: 1}
            """)
        var rules = RoutingRules()
        rules.strategy = .simpleShuffle
        var generator = SystemRandomNumberGenerator()
        var firsts: [String: Int] = [:]
        for _ in 0..<10_000 {
            let ordered = rules.order(catalog.pool(named: "m"), random: { Double.random(in: 0..<1, using: &generator) })
            firsts[ordered[0].upstreamModel, default: 0] += 1
        }
        #expect(abs(Double(firsts["a"] ?? 0) / 10_000 - 0.6) < 0.03)
        #expect(abs(Double(firsts["b"] ?? 0) / 10_000 - 0.3) < 0.03)
        #expect(abs(Double(firsts["c"] ?? 0) / 10_000 - 0.1) < 0.03)
    }
}
