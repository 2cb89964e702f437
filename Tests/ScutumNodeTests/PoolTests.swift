import Foundation
import Logging
import ScutumCore
import ScutumMock
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import Testing

/// A model served by several deployments (a pool), each on its own mock upstream; and the retry
/// policy, class by class, against the mocks' fault knobs.
@Suite("Deployment pools and retry policies")
struct PoolTests {
    /// The mocks: A, B and C answer; D fails every call with 503; S answers after 1.5 s.
    enum Upstream: Int, CaseIterable { case a, b, c, d, s }

    struct Mocks: Sendable {
        let ports: [Int]
        let logs: [MockRequestLog]

        func base(_ upstream: Upstream) -> String { "http://127.0.0.1:\(ports[upstream.rawValue])/v1" }
        func calls(_ upstream: Upstream) -> Int { logs[upstream.rawValue].entries.count }
        func clear() { for log in logs { log.clear() } }
    }

    /// Every action for every error class: what a model named `<prefix>-<action>` does.
    static func policyModels(prefix: String, first: String, mocks: Mocks) -> String {
        RetryPolicy.Action.allCases.map { action in
            """
              - {model_name: \(prefix)-\(action.rawValue), provider: openai, model: up-a, api_base: "\(first)", context_window: 8000}
              - {model_name: \(prefix)-\(action.rawValue), provider: openai, model: up-b, api_base: "\(mocks.base(.b))", context_window: 8000, priority: 1}
            """
        }.joined(separator: "\n")
    }

    static func catalog(_ mocks: Mocks, extra: String) -> String {
        let actions = RetryPolicy.Action.allCases
        let every = { (action: RetryPolicy.Action) in
            RetryPolicy.ErrorClass.allCases.map { "\($0.rawValue): \(action.rawValue)" }.joined(separator: ", ")
        }
        let policies = actions.map { action in
            """
              r-\(action.rawValue): {on: {\(every(action))}}
              t-\(action.rawValue): {timeout_seconds: 0.3, on: {\(every(action))}}
              c-\(action.rawValue): {on: {\(every(action))}}
            """
        }.joined(separator: "\n")
        let fallbacks = actions.flatMap { action in
            ["r", "t", "c"].map { "  \($0)-\(action.rawValue): [f]" }
        }.joined(separator: "\n")
        return """
            credentials:
              openai: {api_key: sk-upstream, api_base: "\(mocks.base(.a))"}
            models:
              - {model_name: w, provider: openai, model: w-a, api_base: "\(mocks.base(.a))", weight: 6}
              - {model_name: w, provider: openai, model: w-b, api_base: "\(mocks.base(.b))", weight: 3}
              - {model_name: w, provider: openai, model: w-c, api_base: "\(mocks.base(.c))", weight: 1}
              - {model_name: h, provider: openai, model: h-a, api_base: "\(mocks.base(.a))"}
              - {model_name: h, provider: openai, model: h-d, api_base: "\(mocks.base(.d))", id: h-failing}
              - {model_name: h, provider: openai, model: h-c, api_base: "\(mocks.base(.c))"}
              - {model_name: l, provider: openai, model: l-a, api_base: "\(mocks.base(.a))", rpm: 2}
              - {model_name: l, provider: openai, model: l-b, api_base: "\(mocks.base(.b))", priority: 1}
              - {model_name: p, provider: openai, model: p-c, api_base: "\(mocks.base(.c))", priority: 2}
              - {model_name: p, provider: openai, model: p-d, api_base: "\(mocks.base(.d))"}
              - {model_name: p, provider: openai, model: p-b, api_base: "\(mocks.base(.b))", priority: 1}
              - {model_name: cb, provider: openai, model: cb-a, api_base: "\(mocks.base(.a))", input_cost_per_token: 0.000002}
              - {model_name: cb, provider: openai, model: cb-b, api_base: "\(mocks.base(.b))", input_cost_per_token: 0.000001}
              - {model_name: f, provider: openai, model: up-c, api_base: "\(mocks.base(.c))", context_window: 200000}
            \(policyModels(prefix: "r", first: mocks.base(.a), mocks: mocks))
            \(policyModels(prefix: "t", first: mocks.base(.s), mocks: mocks))
            \(policyModels(prefix: "c", first: "http://127.0.0.1:1/v1", mocks: mocks))
            fallbacks:
            \(fallbacks)
            retry_policies:
            \(policies)
            \(extra)
            """
    }

    /// Starts the five mocks and a node whose catalog points at them.
    static func withPools<T: Sendable>(catalog extra: String = "",
        _ body: @escaping @Sendable (Gateway, Mocks) async throws -> T) async throws -> T
    {
        let logs = Upstream.allCases.map { _ in MockRequestLog(capacity: 10_000) }
        let boxes = Upstream.allCases.map { _ in PortBox() }
        let servers = Upstream.allCases.map { upstream in
            let knobs = switch upstream {
            case .d: MockKnobs(status: 503)
            case .s: MockKnobs(latency: .milliseconds(1500))
            default: MockKnobs()
            }
            return MockUpstream.application(host: "127.0.0.1", port: 0, knobs: knobs, log: logs[upstream.rawValue],
                logger: Gateway.quietLogger) { port in boxes[upstream.rawValue].set(port) }
        }
        let serve: @Sendable () async throws -> Void = {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for server in servers { group.addTask { try await server.run() } }
                try await group.waitForAll()
            }
        }
        return try await whileServing("the pool's mock upstreams", serve) {
            var ports: [Int] = []
            for box in boxes { ports.append(try await box.wait()) }
            let mocks = Mocks(ports: ports, logs: logs)
            return try await withMigratedDatabase { _, database in
                try await Gateway.runNode(database: database, catalogYAML: catalog(mocks, extra: extra), mockLog: logs[0]) { gateway in
                    try await body(gateway, mocks)
                }
            }
        }
    }

    @Test("a pool is served in proportion to its weights (3,000 requests) and listed once in /v1/models")
    func weights() async throws {
        try await Self.withPools { gateway, mocks in
            let models = try await gateway.request("/v1/models", method: .GET)
            let ids = (try models.json["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids.filter { $0 == "w" }.count == 1)
            // No global limit: this test is about the shares, not the limits.
            let settings = SettingsStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
            var value = try await settings.load()
            if case .object(var fields) = value { fields["global_rate_limit"] = 0; value = .object(fields) }
            try await settings.save(value)
            _ = try await eventually { gateway.node.platform.current.globalRateLimit == 0 ? true : nil }
            let total = 3_000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for _ in stride(from: worker, to: total, by: 8) {
                            let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "w", "hi"))
                            #expect(result.status == 200)
                            #expect(try result.json["model"] as? String == "w")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let shares = [Upstream.a, .b, .c].map { Double(mocks.calls($0)) / Double(total) }
            #expect(mocks.calls(.a) + mocks.calls(.b) + mocks.calls(.c) == total)
            for (share, expected) in zip(shares, [0.6, 0.3, 0.1]) {
                #expect(abs(share - expected) <= 0.05, "shares \(shares), weights 6:3:1")
            }
        }
    }

    @Test("a failing deployment opens only its own breaker; the model keeps serving from the others")
    func breaker() async throws {
        try await Self.withPools { gateway, mocks in
            for _ in 0..<30 {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "h", "hi"))
                #expect(result.status == 200, "\(result.body)")
            }
            let health = ProviderHealth(redis: gateway.node.redis, namespace: "test-\(gateway.database.database)")
            #expect(try await health.state("h-failing") == "open")
            #expect(try await health.state("h#1") == "closed")
            #expect(try await health.state("h#3") == "closed")
            // Open: the failing upstream is no longer called at all.
            try await Task.sleep(for: .milliseconds(100))
            mocks.clear()
            for _ in 0..<20 {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "h", "hi"))
                #expect(result.status == 200)
            }
            #expect(mocks.calls(.d) == 0)
            #expect(mocks.calls(.a) + mocks.calls(.c) == 20)
            // The Admin API shows the deployments and their health.
            let token = try await AdminClusterTests.login(gateway)
            let admin = try await Gateway.send(.GET, gateway.adminURL + "/api/v1/models/h", key: token, body: nil)
            let deployments = try #require(try admin.json["deployments"] as? [[String: Any]])
            #expect(deployments.map { $0["id"] as? String } == ["h#1", "h-failing", "h#3"])
            #expect(deployments.map { $0["health"] as? String } == ["closed", "open", "closed"])
            #expect(deployments[1]["api_base"] as? String == mocks.base(.d))
        }
    }

    @Test("a deployment at its rpm is passed over for the pool's next one, before any fallback")
    func rateLimited() async throws {
        try await Self.withPools { gateway, mocks in
            for _ in 0..<6 {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "l", "hi"))
                #expect(result.status == 200, "\(result.body)")
                #expect(try result.json["model"] as? String == "l")
            }
            #expect(mocks.calls(.a) == 2)
            #expect(mocks.calls(.b) == 4)
        }
    }

    @Test("the catalog's routing_strategy chooses within a pool: cost-based sends everything to the cheapest")
    func costBased() async throws {
        try await Self.withPools(catalog: "routing_strategy: cost-based") { gateway, mocks in
            for _ in 0..<10 {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "cb", "hi"))
                #expect(result.status == 200, "\(result.body)")
            }
            #expect(mocks.calls(.b) == 10)
            #expect(mocks.calls(.a) == 0)
        }
    }

    @Test("priority: the lowest serves while it can; the next takes over only when it cannot")
    func priority() async throws {
        try await Self.withPools { gateway, mocks in
            // p-d (priority 0) always fails: p-b (1) serves, after p-d's retry; p-c (2) is never needed.
            for _ in 0..<3 {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "p", "hi"))
                #expect(result.status == 200, "\(result.body)")
            }
            #expect(mocks.calls(.d) == 6)
            #expect(mocks.calls(.b) == 3)
            #expect(mocks.calls(.c) == 0)
            let order = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "p", "[mock:status=500] [mock:fail_model=p-b] hi"))
            #expect(order.status == 200)
            #expect(mocks.calls(.c) == 1)
        }
    }

    /// One row of the retry table: an error class made at deployment A, the action the model's
    /// policy takes on it, and what follows.
    struct Row: Sendable, CustomStringConvertible {
        var errorClass: RetryPolicy.ErrorClass
        var action: RetryPolicy.Action
        /// Calls on A (nil: A is not a mock, the connection is refused), B (the pool's second), C (the fallback).
        var calls: (a: Int?, b: Int, c: Int)
        var status: Int
        var description: String { "\(errorClass.rawValue) → \(action.rawValue)" }
    }

    static let faults: [RetryPolicy.ErrorClass: (prefix: String, directive: String, clientStatus: Int)] = [
        .rateLimit: ("r", "[mock:status=429]", 429),
        .serverError: ("r", "[mock:status=500]", 500),
        .authentication: ("r", "[mock:status=401]", 500),
        .notFound: ("r", "[mock:status=404]", 500),
        .badRequest: ("r", "[mock:status=400]", 400),
        .contentPolicy: ("r",
            "[mock:status=400] [mock:error_message=Your request was rejected by our safety system: content_policy_violation]",
            400),
        .contextWindow: ("r", "[mock:status=400] [mock:error_message=This model's maximum context length is 8000 tokens.]",
            400),
        .timeout: ("t", "", 500),
        .connection: ("c", "", 500),
    ]

    static var table: [Row] {
        var rows: [Row] = []
        for (errorClass, fault) in faults {
            let refused = fault.prefix == "c"
            for action in RetryPolicy.Action.allCases {
                let calls: (a: Int?, b: Int, c: Int) = switch action {
                case .retry: (refused ? nil : 2, 1, 0)
                case .nextDeployment: (refused ? nil : 1, 1, 0)
                case .fallback: (refused ? nil : 1, 0, 1)
                case .fail: (refused ? nil : 1, 0, 0)
                }
                rows.append(Row(errorClass: errorClass, action: action, calls: calls,
                    status: action == .fail ? fault.clientStatus : 200))
            }
        }
        return rows.sorted { $0.description < $1.description }
    }

    @Test("retry policy: every error class under every action, against the mocks' faults")
    func retryTable() async throws {
        try await Self.withPools { gateway, mocks in
            for row in Self.table {
                let fault = try #require(Self.faults[row.errorClass])
                let model = "\(fault.prefix)-\(row.action.rawValue)"
                let first: Upstream = fault.prefix == "t" ? .s : .a
                mocks.clear()
                let result = try await gateway.request("/v1/chat/completions",
                    body: Gateway.chat(model: model, "\(fault.directive) [mock:fail_model=up-a] hi"))
                #expect(result.status == row.status, "\(row): \(result.body)")
                if let expected = row.calls.a {
                    #expect(mocks.calls(first) == expected, "\(row): calls on the first deployment")
                }
                #expect(mocks.calls(.b) == row.calls.b, "\(row): calls on the pool's second deployment")
                #expect(mocks.calls(.c) == row.calls.c, "\(row): calls on the fallback")
                if row.status == 200 {
                    #expect(try result.json["model"] as? String == (row.calls.c == 1 ? "f" : model), "\(row)")
                }
            }
            // After every fault, a plain request to each model is served.
            for action in RetryPolicy.Action.allCases {
                let result = try await gateway.request("/v1/chat/completions",
                    body: Gateway.chat(model: "r-\(action.rawValue)", "hi"))
                #expect(result.status == 200)
            }
        }
    }
}
