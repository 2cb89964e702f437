import Foundation
import Logging
import PostgresNIO
import ScutumCluster
import ScutumCore
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import Testing

/// What the Admin API's state does to the proxy: spend logging, budgets, allow-lists, maintenance
/// and model changes, all taking effect without a restart.
@Suite("Spend, budgets and platform settings on the proxy")
struct PlatformTests {
    /// The catalog's prices for `gpt-test`.
    static func cost(_ usage: [String: Any]) -> Double {
        Double(usage["prompt_tokens"] as? Int ?? 0) * 0.000001 + Double(usage["completion_tokens"] as? Int ?? 0) * 0.000002
    }

    static func count(_ client: PostgresClient, _ sql: PostgresQuery) async throws -> (Int, Double) {
        let rows = try await client.query(sql, logger: TestEnvironment.logger)
        for try await (count, sum) in rows.decode((Int, Double).self) { return (count, sum) }
        return (0, 0)
    }

    @Test("spend adds up: N requests, N spend log rows, totals equal to the sum of their costs")
    func spendAddsUp() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "spender",
                settings: KeySettings(userID: "user-1"))
            var expected = 0.0
            for index in 0..<10 {
                let stream = index % 3 == 0
                let result = try await gateway.request("/v1/chat/completions", key: key,
                    body: Gateway.chat("request \(index)", stream: stream,
                        extra: stream ? #","stream_options":{"include_usage":true}"# : ""))
                #expect(result.status == 200)
                if stream {
                    let usage = try #require(try SSEFrames(result.body).chunks().last?["usage"] as? [String: Any])
                    expected += Self.cost(usage)
                } else {
                    expected += Self.cost(try #require(try result.json["usage"] as? [String: Any]))
                }
            }
            let client = gateway.node.postgres
            let rows = try await eventually(timeout: .seconds(10)) { () async throws -> (Int, Double)? in
                let totals = try await Self.count(client,
                    "SELECT count(*)::int8, coalesce(sum(cost), 0)::float8 FROM spend_logs WHERE key_id = \(record.keyID)")
                return totals.0 == 10 ? totals : nil
            }
            let (count, total) = try #require(rows)
            #expect(count == 10)
            #expect(abs(total - expected) < 1e-9)
            let logs = try await SpendLogStore(client: client, logger: TestEnvironment.logger)
                .logs(.init(keyID: record.keyID))
            #expect(logs.allSatisfy { $0.userID == "user-1" && $0.modelRequested == "gpt-test" && $0.status == 200 })
            #expect(logs.filter(\.stream).count == 4)
            #expect(Set(logs.map(\.requestID)).count == 10)
            let totals = try await SpendLogStore(client: client, logger: TestEnvironment.logger).totals(by: .key)
            #expect(totals.first { $0.group == record.keyID }?.requests == 10)
        }
    }

    @Test("a key's model allow-list: other models are 403, aliases narrow to the allowed members")
    func allowList() async throws {
        try await Gateway.with { gateway in
            let (key, _) = try await gateway.keys.create(alias: "narrow", settings: KeySettings(models: ["gpt-test"]))
            let allowed = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
            #expect(allowed.status == 200)
            let refused = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat(model: "gpt-test-2", "hi"))
            #expect(refused.status == 403)
            #expect(try refused.openAIError["code"] as? String == "model_not_allowed")
            let alias = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat(model: "fast", "[mock:status=500] hi"))
            // Only gpt-test was tried: one failure keeps its own status instead of the all-failed 503.
            #expect(alias.status == 500)
        }
    }

    /// Sends requests with `key` (flushing spend after each) until one is refused; that refusal.
    static func spendUntilRefused(_ gateway: Gateway, key: String, attempts: Int = 40) async throws -> HTTPResult? {
        for _ in 0..<attempts {
            let result = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat("Write a short poem about APIs."))
            if result.status != 200 { return result }
            await gateway.node.spend.flush()
        }
        return nil
    }

    @Test("a key budget stops requests once spent, before any upstream call, with a clear error")
    func keyBudget() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "budgeted")
            _ = try await BudgetStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
                .upsert(.key(record.keyID), maxBudget: 0.00002, softBudget: nil, duration: BudgetDuration(parsing: "30d"))
            let refused = try #require(try await Self.spendUntilRefused(gateway, key: key))
            #expect(refused.status == 400)
            let error = try refused.openAIError
            #expect(error["type"] as? String == "budget_exceeded")
            #expect((error["message"] as? String)?.contains("Budget exceeded for key") == true)
            gateway.mockLog.clear()
            let again = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
            #expect(again.status == 400)
            #expect(gateway.mockLog.entries.isEmpty, "the upstream was called despite the budget")
        }
    }

    @Test("maintenance mode: 503 on everything but health, within a second, and back")
    func maintenance() async throws {
        try await Gateway.with { gateway in
            let settings = SettingsStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
            var value = try await settings.load()
            if case .object(var fields) = value { fields["maintenance_mode"] = true; value = .object(fields) }
            try await settings.save(value)
            let status = try await eventually(timeout: .seconds(5)) { () async throws -> Int? in
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi"))
                return result.status == 503 ? 503 : nil
            }
            #expect(status == 503)
            let models = try await gateway.request("/v1/models", method: .GET)
            #expect(models.status == 503)
            #expect(try models.openAIError["code"] as? String == "maintenance_mode")
            #expect(try await gateway.request("/health/liveness", method: .GET, key: nil).status == 200)
            if case .object(var fields) = value { fields["maintenance_mode"] = false; value = .object(fields) }
            try await settings.save(value)
            let back = try await eventually(timeout: .seconds(5)) { () async throws -> Int? in
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi"))
                return result.status == 200 ? 200 : nil
            }
            #expect(back == 200)
        }
    }

    @Test("a model deactivated or repriced by an operator changes the proxy within a second")
    func modelOverride() async throws {
        try await Gateway.with { gateway in
            let overrides = ModelOverrideStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
            try await overrides.save(ModelOverride(modelName: "gpt-test-2", active: false))
            try await overrides.save(ModelOverride(modelName: "gpt-test", inputCostPerToken: 0.5, outputCostPerToken: 1))
            let status = try await eventually(timeout: .seconds(5)) { () async throws -> Int? in
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "gpt-test-2", "hi"))
                return result.status == 503 ? 503 : nil
            }
            #expect(status == 503)
            let message = try await gateway.request("/v1/chat/completions", body: Gateway.chat(model: "gpt-test-2", "hi"))
            #expect((try message.openAIError["message"] as? String)?.contains("deactivated") == true)
            // Two saves, two notifications: the second reload may land a moment after the first.
            let price = try await eventually(timeout: .seconds(5)) { () async -> Double? in
                let price = gateway.node.catalog.current.deployment(named: "gpt-test")?.inputCostPerToken
                return price == 0.5 ? price : nil
            }
            #expect(price == 0.5)
        }
    }

    @Test("spend waits in Redis while PostgreSQL is unreachable and is written exactly once when it returns")
    func durableSpend() async throws {
        try await withMigratedDatabase { client, _ in
            let redis = RedisClient(configuration: TestEnvironment.redisConfiguration)
            let namespace = "test-durable-\(UUID().uuidString.prefix(8))"
            let ledger = SpendLedger(redis: redis, namespace: namespace)
            try await ledger.ensureGroup()
            let recorder = SpendRecorder(ledger: ledger, logger: TestEnvironment.logger)
            let records = (0..<25).map { index in
                SpendRecord(requestID: "r-\(index)", at: Date(), keyID: "k", keyAlias: nil, teamID: "t", userID: nil,
                    modelRequested: "gpt-test", modelServed: "gpt-test", provider: "openai", promptTokens: 10,
                    completionTokens: 5, cachedTokens: 0, cost: 0.001, latencyMilliseconds: 3, status: 200, stream: false)
            }
            for record in records { recorder.record(record, budgets: []) }
            await recorder.flush()
            #expect(recorder.pendingCount == 0)

            // A writer whose PostgreSQL is down claims the batch but cannot write it.
            var downConfiguration = PostgresClient.Configuration(host: "127.0.0.1", port: 1, username: "nobody",
                password: nil, database: "nowhere", tls: .disable)
            downConfiguration.options.connectTimeout = .milliseconds(200)
            let down = PostgresClient(configuration: downConfiguration)
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask { await down.run() }
                let failing = SpendLogWriter(ledger: ledger, store: SpendLogStore(client: down, logger: TestEnvironment.logger),
                    consumer: "node-a", batchSize: 100, staleAfter: .milliseconds(100), logger: TestEnvironment.logger)
                // The insert waits for a connection that never comes; the node gives up (here: cancels).
                let attempt = Task { try await failing.writeBatch() }
                try? await Task.sleep(for: .milliseconds(500))
                attempt.cancel()
                await #expect(throws: (any Error).self) { try await attempt.value }
                tasks.cancelAll()
            }

            // Another node takes the stale batch over; a replay after a crash between insert and ack adds nothing.
            let store = SpendLogStore(client: client, logger: TestEnvironment.logger)
            try await store.insert(Array(records.prefix(10)))
            try await Task.sleep(for: .milliseconds(150))
            let writer = SpendLogWriter(ledger: ledger, store: store, consumer: "node-b", batchSize: 100,
                staleAfter: .milliseconds(100), logger: TestEnvironment.logger)
            #expect(try await writer.writeBatch() == 25)
            #expect(try await writer.writeBatch() == 0)
            let (count, total) = try await Self.count(client, "SELECT count(*)::int8, sum(cost)::float8 FROM spend_logs")
            #expect(count == 25)
            #expect(abs(total - 0.025) < 1e-9)
            _ = try await redis.send(["DEL", RedisArgument(ledger.stream)])
            await redis.close()
        }
    }
}

@Suite("Budgets and keys across a cluster")
struct ClusterBudgetTests {
    @Test("a team budget is enforced across two nodes: spend never passes it by more than what was in flight")
    func teamBudgetAcrossNodes() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            let client = nodes[0].node.postgres
            try await TeamStore(client: client, logger: TestEnvironment.logger)
                .create(TeamRecord(teamID: "team-a", alias: "Team A"))
            let limit = 0.0003
            _ = try await BudgetStore(client: client, logger: TestEnvironment.logger)
                .upsert(.team("team-a"), maxBudget: limit, softBudget: nil, duration: BudgetDuration(parsing: "monthly"))
            let (key, _) = try await nodes[0].keys.create(alias: "team-key", settings: KeySettings(teamID: "team-a"))
            // Both nodes know the budget before spending starts.
            for node in nodes {
                _ = try await eventually { node.node.platform.current.budgets[.team("team-a")] }
            }
            // Four clients at a time on each node until both refuse.
            // (served, refused) per worker.
            let began = ContinuousClock.now
            let outcomes = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        let node = nodes[worker % 2]
                        var served = 0
                        for _ in 0..<200 {
                            let result = try await node.request("/v1/chat/completions", key: key,
                                body: Gateway.chat("Write a short poem about APIs."))
                            if result.status == 400 { return (served, 1) }
                            #expect(result.status == 200)
                            served += 1
                        }
                        return (served, 0)
                    }
                }
                return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
            }
            let elapsed = ContinuousClock.now - began
            #expect(outcomes.1 == 8)
            for node in nodes { await node.node.spend.flush() }
            // Wait until every served request's row is in PostgreSQL.
            let rows = try await eventually(timeout: .seconds(10)) { () async throws -> (Int, Double)? in
                let stats = try await PlatformTests.count(client,
                    "SELECT count(*) FILTER (WHERE status = 200)::int8, coalesce(sum(cost), 0)::float8 FROM spend_logs WHERE team_id = 'team-a'")
                return stats.0 == outcomes.0 ? stats : nil
            }
            let (served, spent) = try #require(rows)
            // Each request costs the same here. The documented bound: what was in flight (one per
            // worker) plus what the cluster served while a node's view lagged (flush gap + refresh
            // interval, 0.5 s), at the rate this run served.
            let perRequest = spent / Double(served)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let lagged = Double(served) / max(seconds, 0.001) * 0.5
            #expect(spent >= limit)
            #expect(spent <= limit + (8 + lagged) * perRequest + 1e-12,
                "spent \(spent) of \(limit) with \(served) requests in \(elapsed)")
            // Without enforcement all 1,600 requests would have been served.
            #expect(served < 400)
        }
    }

    @Test("a key made through node A works on node B at once; deleting its team on B stops it on A within a second")
    func keysAcrossNodes() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            let client = nodes[0].node.postgres
            try await TeamStore(client: client, logger: TestEnvironment.logger)
                .create(TeamRecord(teamID: "team-b", alias: "Team B"))
            let (key, _) = try await nodes[0].keys.create(alias: "shared", settings: KeySettings(teamID: "team-b"))
            for node in nodes {
                #expect(try await node.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
            }
            _ = try await TeamStore(client: nodes[1].node.postgres, logger: TestEnvironment.logger).delete("team-b")
            let started = ContinuousClock.now
            let refused = try await eventually(timeout: .seconds(5)) { () async throws -> Int? in
                let result = try await nodes[0].request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
                return result.status == 401 ? 401 : nil
            }
            #expect(refused == 401)
            // The NOTIFY reaches the other node in milliseconds; the bound leaves room for a 2-core CI machine
            // running every suite at once, where one poll (a chat request) alone can take a few hundred.
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }
}

@Suite("The Admin API across a cluster")
struct AdminClusterTests {
    static func login(_ gateway: Gateway) async throws -> String {
        let result = try await Gateway.send(.POST, gateway.adminURL + "/auth/login", key: nil,
            body: #"{"api_key":"\#(Gateway.masterKey)"}"#)
        #expect(result.status == 200, "\(result.body)")
        return try #require(try result.json["access_token"] as? String)
    }

    @Test("a key generated through node A's Admin API works on node B; deleted through B, A refuses it within a second")
    func generateOnADeleteOnB() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            let tokenA = try await Self.login(nodes[0])
            let generated = try await Gateway.send(.POST, nodes[0].adminURL + "/api/v1/keys/generate", key: tokenA,
                body: #"{"key_alias":"my-service","max_budget":100,"duration":"90d"}"#)
            #expect(generated.status == 200, "\(generated.body)")
            let key = try #require(try generated.json["key"] as? String)
            let onB = try await nodes[1].request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
            #expect(onB.status == 200)
            let onA = try await nodes[0].request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
            #expect(onA.status == 200)

            // The same token works on B: every node derives the same signing secret.
            let deleted = try await Gateway.send(.POST, nodes[1].adminURL + "/api/v1/keys/delete", key: tokenA,
                body: #"{"keys":["\#(key)"]}"#)
            #expect(deleted.status == 200, "\(deleted.body)")
            let started = ContinuousClock.now
            let refused = try await eventually(timeout: .seconds(5)) { () async throws -> Int? in
                let result = try await nodes[0].request("/v1/chat/completions", key: key, body: Gateway.chat("hi"))
                return result.status == 401 ? 401 : nil
            }
            #expect(refused == 401)
            // The NOTIFY reaches the other node in milliseconds; the bound leaves room for a 2-core CI machine
            // running every suite at once, where one poll (a chat request) alone can take a few hundred.
            #expect(ContinuousClock.now - started < .seconds(3))

            // Both requests were logged with their key, and the Admin API reports them.
            for node in nodes { await node.node.spend.flush() }
            let keyID = try #require(try generated.json["key_id"] as? String)
            let logs = try await eventually(timeout: .seconds(30)) { () async throws -> [[String: Any]]? in
                let result = try await Gateway.send(.GET, nodes[1].adminURL + "/api/v1/spend/logs?key_id=\(keyID)",
                    key: tokenA, body: nil)
                let logs = try result.json["logs"] as? [[String: Any]] ?? []
                return logs.count == 2 ? logs : nil
            }
            #expect(logs?.count == 2)
        }
    }
}
