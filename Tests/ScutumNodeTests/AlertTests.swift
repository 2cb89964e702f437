import AsyncHTTPClient
import Foundation
import PostgresNIO
import ScutumCluster
import ScutumCore
import ScutumMock
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumNode

/// Fast alert timings: the monitor and dispatcher look every 100 ms, retries start at 100 ms, a node
/// is cut off after five seconds.
let fastAlerts = [
    "SCUTUM_ALERT_INTERVAL_MILLISECONDS": "100", "SCUTUM_ALERT_RETRY_BASE_MILLISECONDS": "100",
    "SCUTUM_ALERT_UNREACHABLE_SECONDS": "5", "SCUTUM_ALERT_TIMEOUT_SECONDS": "2",
]

extension Gateway {
    /// A node whose settings send alerts to `url` in `format` from the start (so the first leader
    /// change is sent too).
    static func withAlerts<T: Sendable>(url: String, format: String = "json",
        _ body: @escaping @Sendable (Gateway) async throws -> T) async throws -> T
    {
        try await withAlertDatabase(url: url, format: format) { _, database in
            try await Gateway.with(variables: fastAlerts, database: database, body)
        }
    }

    /// A migrated database whose settings send alerts to `url` in `format`.
    static func withAlertDatabase<T: Sendable>(url: String, format: String = "json",
        _ body: @escaping @Sendable (PostgresClient, DatabaseConfiguration) async throws -> T) async throws -> T
    {
        try await withMigratedDatabase { client, database in
            try await SettingsStore(client: client, logger: TestEnvironment.logger)
                .save(["alert_webhook_url": .string(url), "alert_webhook_format": .string(format)])
            return try await body(client, database)
        }
    }

    /// Points alerts at `url` in `format` through the Admin API.
    func configureAlerts(url: String, format: String = "json") async throws {
        let token = try await AdminClusterTests.login(self)
        let result = try await Gateway.send(.PUT, adminURL + "/api/v1/settings", key: token,
            body: #"{"alert_webhook_url":"\#(url)","alert_webhook_format":"\#(format)"}"#)
        #expect(result.status == 200, "\(result.body)")
    }

    /// The alerts the Admin API lists (newest first).
    func alerts(query: String = "") async throws -> [[String: Any]] {
        let token = try await AdminClusterTests.login(self)
        let result = try await Gateway.send(.GET, adminURL + "/api/v1/alerts" + query, key: token, body: nil)
        #expect(result.status == 200, "\(result.body)")
        return try result.json["alerts"] as? [[String: Any]] ?? []
    }

    /// Makes every condition the monitor watches true: budgets past their soft and hard limits, a key
    /// expiring in three days, a node cut off from Redis and one cut off from PostgreSQL (rows as
    /// their heartbeats would write them), and the breaker of `primary-test` opened by failures.
    func raiseEveryCondition() async throws {
        let namespace = node.configuration.redisNamespace
        let budget = try await BudgetStore(client: node.postgres, logger: TestEnvironment.logger)
            .upsert(.team("alerts-team"), maxBudget: 2, softBudget: 1, duration: nil)
        let ledger = SpendLedger(redis: node.redis, namespace: namespace)
        try await node.redis.send(["SET", RedisArgument(ledger.counterKey(budget, at: Date())), "2.5"])
        _ = try await keys.create(alias: "expiring-soon", expiresAt: Date().addingTimeInterval(3 * 86_400))
        try await node.postgres.query("""
            INSERT INTO cluster_nodes (node_id, address, version, started_at, last_heartbeat, redis_unreachable_since)
            VALUES ('node-without-redis', '10.0.0.1:4000', 'test', now(), now() + interval '1 hour',
                now() - interval '30 seconds'),
                ('node-without-postgres', '10.0.0.2:4000', 'test', now(), now() - interval '30 seconds', NULL)
            """, logger: TestEnvironment.logger)
        try await node.redis.send(["ZADD", RedisArgument("\(namespace):nodes"),
            RedisArgument(String(Date().timeIntervalSince1970 + 3600)), "node-without-postgres"])
        for _ in 0..<3 {
            let result = try await request("/v1/chat/completions",
                body: Gateway.chat(model: "primary-test", "[mock:status=503] [mock:fail_model=primary-upstream] hi"))
            #expect(result.status == 200)
        }
        #expect(node.breakers.reading("primary-test") != .closed)
    }

    /// Closes `primary-test`'s breaker: its cooldown cut short, a probe that succeeds.
    func closeBreaker() async throws {
        let health = ProviderHealth(redis: node.redis, namespace: node.configuration.redisNamespace)
        _ = try await node.redis.send(["DEL", RedisArgument(health.keys("primary-test").open)])
        let probe = try await eventually(timeout: .seconds(5)) { () async throws -> HTTPResult? in
            let result = try await request("/v1/chat/completions", body: Gateway.chat(model: "primary-test", "hi"))
            return try result.json["model"] as? String == "primary-test" ? result : nil
        }
        #expect(probe != nil)
    }
}

@Suite("Alerts", .serialized)
struct AlertTests {
    @Test("a webhook receiver gets each alert kind once, the deliveries that failed retried")
    func everyKindOnce() async throws {
        let receiver = WebhookReceiver(failFirst: 2)
        try await receiver.serving { url in
            try await Gateway.withAlerts(url: url) { gateway in
                try await gateway.raiseEveryCondition()
                let opened = try await eventually(timeout: .seconds(10)) {
                    receiver.acceptedObjects.contains { $0["kind"] as? String == "breaker_opened" } ? true : nil
                }
                #expect(opened == true)
                try await gateway.closeBreaker()
                let all = Set(AlertKind.allCases.map(\.rawValue))
                let kinds = try await eventually(timeout: .seconds(10)) { () -> [String]? in
                    let kinds = receiver.acceptedObjects.compactMap { $0["kind"] as? String }
                    return Set(kinds) == all ? kinds : nil
                }
                #expect(kinds != nil, "received \(receiver.accepted)")
                // Many more monitor passes see every condition still true: nothing is sent twice.
                try await Task.sleep(for: .seconds(1))
                let received = receiver.acceptedObjects
                let counts = Dictionary(grouping: received.compactMap { $0["kind"] as? String }, by: { $0 }).mapValues(\.count)
                #expect(counts == Dictionary(uniqueKeysWithValues: all.map { ($0, 1) }), "\(counts)")
                #expect(receiver.refused == 2)
                for body in received {
                    #expect(Set(body.keys) == ["id", "kind", "subject", "message", "details", "at"])
                }
                let soft = try #require(received.first { $0["kind"] as? String == "budget_soft_crossed" })
                #expect((soft["details"] as? [String: Any])?["subject_id"] as? String == "alerts-team")
                // Each delivery is recorded; the two refused ones as extra attempts with the error.
                let listed = try await gateway.alerts()
                #expect(listed.count == all.count)
                #expect(listed.allSatisfy { $0["status"] as? String == "delivered" })
                let attempts = listed.compactMap { $0["attempts"] as? Int }.reduce(0, +)
                #expect(attempts == all.count + 2)
                let retried = listed.filter { ($0["attempts"] as? Int ?? 0) > 1 }
                #expect(!retried.isEmpty)
                #expect(retried.allSatisfy { ($0["last_error"] as? String)?.contains("500") == true })
                let ids = listed.compactMap { $0["id"] as? Int }
                #expect(ids == ids.sorted(by: >))
                let breakers = try await gateway.alerts(query: "?kind=breaker_closed")
                #expect(breakers.map { $0["subject"] as? String } == ["primary-test"])
            }
        }
    }

    @Test("a breaker that opens and closes between two looks of the monitor gets both alerts, in order")
    func breakerBetweenLooks() async throws {
        let receiver = WebhookReceiver()
        try await receiver.serving { url in
            try await Gateway.withAlertDatabase(url: url) { _, database in
                var variables = fastAlerts
                variables["SCUTUM_ALERT_INTERVAL_MILLISECONDS"] = "8000"
                try await Gateway.with(variables: variables, database: database) { gateway in
                    // The term's first look has run once its leader change is recorded.
                    let started = try await eventually(timeout: .seconds(10)) {
                        try await gateway.alerts(query: "?kind=leader_changed").isEmpty ? nil : true
                    }
                    #expect(started == true)
                    let before = ContinuousClock.now
                    for _ in 0..<3 {
                        let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat(
                            model: "primary-test", "[mock:status=503] [mock:fail_model=primary-upstream] hi"))
                        #expect(result.status == 200)
                    }
                    #expect(gateway.node.breakers.reading("primary-test") != .closed)
                    try await gateway.closeBreaker()
                    #expect(gateway.node.breakers.reading("primary-test") == .closed)
                    let quick = ContinuousClock.now - before < .seconds(7)
                    let alerts = try await eventually(timeout: .seconds(20)) { () -> [[String: Any]]? in
                        let listed = try await gateway.alerts().filter { ($0["kind"] as? String)?.hasPrefix("breaker_") == true }
                        return listed.count >= 2 ? listed : nil
                    }
                    // Newest first: the closing follows the opening.
                    let kinds = (alerts ?? []).map { $0["kind"] as? String ?? "" }
                    #expect(kinds == ["breaker_closed", "breaker_opened"], "\(kinds), within one look: \(quick)")
                    let delivered = try await eventually(timeout: .seconds(10)) { () -> [String]? in
                        let kinds = receiver.acceptedObjects.compactMap { $0["kind"] as? String }.filter { $0.hasPrefix("breaker_") }
                        return kinds.count == 2 ? kinds : nil
                    }
                    #expect(delivered == ["breaker_opened", "breaker_closed"])
                }
            }
        }
    }

    @Test("a dispatcher whose node no longer leads sends nothing; one that leads sends what is due")
    func dispatcherOnlyWhileLeading() async throws {
        let receiver = WebhookReceiver()
        try await receiver.serving { url in
            try await Gateway.withAlertDatabase(url: url) { client, _ in
                let settings = SettingsStore(client: client, logger: TestEnvironment.logger)
                let store = AlertStore(client: client, logger: TestEnvironment.logger)
                let id = try #require(try await store.record(AlertEvent(kind: .leaderChanged, subject: "node x",
                    dedupKey: "leader_changed:test", message: "Node x leads.")))
                let dispatcher = AlertDispatcher(store: store, settings: settings, client: HTTPClient.shared,
                    timing: .init(interval: .milliseconds(100), timeout: .seconds(5)), logger: TestEnvironment.logger)
                await dispatcher.pass(leads: { false })
                #expect(receiver.accepted.isEmpty)
                #expect(try await store.due().map(\.id) == [id])
                await dispatcher.pass(leads: { true })
                #expect(receiver.acceptedObjects.compactMap { $0["id"] as? Int } == [Int(id)])
                #expect(try await store.due().isEmpty)
            }
        }
    }

    @Test("the Slack format is {\"text\": ...}")
    func slackFormat() async throws {
        let receiver = WebhookReceiver()
        try await receiver.serving { url in
            try await Gateway.withAlerts(url: url, format: "slack") { gateway in
                let body = try await eventually(timeout: .seconds(10)) { receiver.acceptedObjects.first }
                let text = try #require(body?["text"] as? String)
                #expect(body.map { Set($0.keys) } == ["text"])
                #expect(text.hasPrefix("*Leader changed*: Node "))
            }
        }
    }

    @Test("requests are served at full speed while the webhook hangs, and alerts are recorded anyway")
    func deliveryNeverBlocks() async throws {
        let receiver = WebhookReceiver(delay: .seconds(30))
        try await receiver.serving { url in
            try await Gateway.withAlerts(url: url) { gateway in
                let hanging = try await eventually(timeout: .seconds(10)) { receiver.started > 0 ? true : nil }
                #expect(hanging == true)
                try await gateway.raiseEveryCondition()
                let clock = ContinuousClock()
                for _ in 0..<5 {
                    let start = clock.now
                    let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hi"))
                    #expect(result.status == 200)
                    #expect(clock.now - start < .seconds(1))
                }
                // Detection goes on while the one delivery hangs; it times out (2 s) and is retried.
                let recorded = try await eventually(timeout: .seconds(10)) { () async throws -> Bool? in
                    let kinds = Set(try await gateway.alerts().compactMap { $0["kind"] as? String })
                    return kinds.isSuperset(of: ["budget_hard_reached", "key_expiring", "breaker_opened"]) ? true : nil
                }
                #expect(recorded == true)
                let timedOut = try await eventually(timeout: .seconds(10)) { () async throws -> Bool? in
                    try await gateway.alerts(query: "?kind=leader_changed").first?["last_error"] as? String != nil ? true : nil
                }
                #expect(timedOut == true)
            }
        }
    }

    @Test("the settings refuse a webhook that is not http(s), an unknown format or kind")
    func settingsValidation() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            for body in [#"{"alert_webhook_url":"ftp://example.com/hook"}"#, #"{"alert_webhook_url":"not a url"}"#,
                #"{"alert_webhook_format":"xml"}"#, #"{"alert_kinds":["budget_soft_crossed","nope"]}"#]
            {
                let result = try await Gateway.send(.PUT, gateway.adminURL + "/api/v1/settings", key: token, body: body)
                #expect(result.status == 422, "\(body): \(result.body)")
            }
            let accepted = try await Gateway.send(.PUT, gateway.adminURL + "/api/v1/settings", key: token,
                body: #"{"alert_webhook_url":"https://hooks.example.com/x","alert_kinds":["key_expiring"]}"#)
            #expect(accepted.status == 200, "\(accepted.body)")
            let badKind = try await Gateway.send(.GET, gateway.adminURL + "/api/v1/alerts?kind=nope", key: token, body: nil)
            #expect(badKind.status == 422)
        }
    }

    @Test("kinds the settings leave out, and alerts without a webhook, are recorded not_sent")
    func notSent() async throws {
        let receiver = WebhookReceiver()
        try await receiver.serving { url in
            try await Gateway.with(variables: fastAlerts) { gateway in
                // No webhook yet: the leader change is recorded, not sent.
                let unsent = try await eventually(timeout: .seconds(10)) { () async throws -> [String: Any]? in
                    try await gateway.alerts().first { $0["status"] as? String == "not_sent" }
                }
                #expect(unsent?["kind"] as? String == "leader_changed")
                let token = try await AdminClusterTests.login(gateway)
                let result = try await Gateway.send(.PUT, gateway.adminURL + "/api/v1/settings", key: token,
                    body: #"{"alert_webhook_url":"\#(url)","alert_kinds":["key_expiring"]}"#)
                #expect(result.status == 200)
                try await gateway.raiseEveryCondition()
                let sent = try await eventually(timeout: .seconds(10)) { receiver.acceptedObjects.first }
                #expect(sent?["kind"] as? String == "key_expiring")
                try await Task.sleep(for: .milliseconds(500))
                #expect(receiver.accepted.count == 1)
                let hard = try await gateway.alerts(query: "?kind=budget_hard_reached").first
                #expect(hard?["status"] as? String == "not_sent")
            }
        }
    }

    @Test("each leadership term is one leader_changed alert, sent by whoever leads")
    func leaderChange() async throws {
        let receiver = WebhookReceiver()
        try await receiver.serving { url in
            var variables = fastAlerts
            variables["SCUTUM_LEADER_LEASE_SECONDS"] = "1"
            try await Gateway.cluster(nodes: 2, variables: variables) { nodes in
                // The first term began before there was a webhook: recorded, not sent.
                let leader = try #require(try await eventually(timeout: .seconds(10)) {
                    nodes.first { $0.node.election.fence != nil }
                })
                let follower = try #require(nodes.first { $0.node.election.nodeID != leader.node.election.nodeID })
                try await follower.configureAlerts(url: url)
                await leader.shutdown()
                @Sendable func sent(by node: Gateway) -> [[String: Any]] {
                    receiver.acceptedObjects.filter {
                        ($0["details"] as? [String: Any])?["node_id"] as? String == node.node.election.nodeID
                    }
                }
                let second = try await eventually(timeout: .seconds(10)) { sent(by: follower).first }
                #expect(second?["kind"] as? String == "leader_changed")
                try await Task.sleep(for: .milliseconds(500))
                #expect(sent(by: follower).count == 1)
                // The first node's terms were each sent at most once (none if its term began before the
                // webhook was set; a second one if its 1 s lease lapsed under load and it led again).
                let leaderTerms = sent(by: leader).compactMap { ($0["details"] as? [String: Any])?["term"] as? Int }
                #expect(Set(leaderTerms).count == leaderTerms.count, "\(sent(by: leader))")
                let terms = try await follower.alerts(query: "?kind=leader_changed")
                #expect(terms.count == leaderTerms.count + 1 || terms.contains { $0["status"] as? String == "not_sent" })
                #expect(terms.first?["status"] as? String == "delivered")
            }
        }
    }

    @Test("a node really cut off from PostgreSQL, then from Redis, is each an alert at the webhook, once",
        .disabled(if: TestEnvironment.redisIsCluster || TestEnvironment.redisURL.hasPrefix("rediss"),
            "cuts one plain Redis server through a relay"))
    func realOutages() async throws {
        let receiver = WebhookReceiver()
        try await receiver.serving { url in
            try await Gateway.withAlertDatabase(url: url) { client, database in
                let redis = TestEnvironment.redisConfiguration
                let postgresRelay = try await TCPRelay.start(to: database.host, port: database.port)
                let redisRelay = try await TCPRelay.start(to: redis.host, port: redis.port)
                let relayed = {
                    var relayed = database
                    (relayed.host, relayed.port) = ("127.0.0.1", postgresRelay.port)
                    return relayed
                }()
                let variables = fastAlerts.merging(["SCUTUM_REDIS_NAMESPACE": "test-outage-\(database.database)"]) { $1 }
                let yaml = Gateway.catalogYAML(mockPort: 1)
                try await Gateway.runNode(database: database, variables: variables, catalogYAML: yaml,
                    mockLog: MockRequestLog()) { leader in
                    _ = try #require(try await eventually(timeout: .seconds(10)) { leader.node.election.fence })
                    try await Gateway.runNode(database: relayed, redisURL: "redis://127.0.0.1:\(redisRelay.port)/0",
                        variables: variables, catalogYAML: yaml, mockLog: MockRequestLog()) { cut in
                        let nodeID = cut.node.election.nodeID
                        @Sendable func received(_ kind: String) -> [[String: Any]] {
                            receiver.acceptedObjects.filter {
                                $0["kind"] as? String == kind && $0["subject"] as? String == "node \(nodeID)"
                            }
                        }
                        // Both heartbeats are in before anything is cut.
                        let registry = NodeRegistry(redis: leader.node.redis, namespace: variables["SCUTUM_REDIS_NAMESPACE"]!,
                            nodeID: "observer", logger: TestEnvironment.logger)
                        let nodes = ClusterNodeStore(client: client, logger: TestEnvironment.logger)
                        _ = try await eventually(timeout: .seconds(10)) { () async throws -> Bool? in
                            let inPostgres = try await nodes.nodes(heardWithin: .seconds(2)).contains { $0.nodeID == nodeID }
                            return try await registry.members()[nodeID] != nil && inPostgres ? true : nil
                        }
                        postgresRelay.cut()
                        let postgres = try await eventually(timeout: .seconds(20)) { received("postgres_unreachable").first }
                        #expect(postgres != nil, "no postgres_unreachable for \(nodeID): \(receiver.accepted)")
                        #expect(received("redis_unreachable").isEmpty)
                        postgresRelay.restore()
                        // Heard from again in PostgreSQL before Redis goes.
                        _ = try await eventually(timeout: .seconds(10)) { () async throws -> Bool? in
                            try await nodes.nodes(heardWithin: .seconds(2)).contains { $0.nodeID == nodeID } ? true : nil
                        }
                        redisRelay.cut()
                        let redisAlert = try await eventually(timeout: .seconds(20)) { received("redis_unreachable").first }
                        #expect(redisAlert != nil, "no redis_unreachable for \(nodeID): \(receiver.accepted)")
                        redisRelay.restore()
                        // Further looks of the monitor send neither again.
                        try await Task.sleep(for: .seconds(1))
                        #expect(received("postgres_unreachable").count == 1)
                        #expect(received("redis_unreachable").count == 1)
                    }
                }
                await postgresRelay.stop()
                await redisRelay.stop()
            }
        }
    }

    @Test("a node whose Redis is unreachable reports since when in its heartbeat",
        .disabled(if: TestEnvironment.redisIsCluster, "cuts one Redis server through a relay; a cluster client follows MOVED past it"))
    func registryReportsRedisOutage() async throws {
        let relay = try await TCPRelay.start(to: "127.0.0.1", port: try RedisConfiguration(url: TestEnvironment.redisURL).port)
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(relay.port)/0")
        configuration.commandTimeout = .milliseconds(500)
        let redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
        let registry = NodeRegistry(redis: redis, namespace: "test-alerts-\(UUID().uuidString.prefix(8))",
            nodeID: "n1", logger: TestEnvironment.logger)
        await registry.beat()
        #expect(registry.redisUnreachableSince == nil)
        #expect(try await registry.members().keys.sorted() == ["n1"])
        relay.cut()
        await registry.beat()
        let since = try #require(registry.redisUnreachableSince)
        await registry.beat()
        #expect(registry.redisUnreachableSince == since)
        relay.restore()
        await registry.beat()
        #expect(registry.redisUnreachableSince == nil)
        await redis.close()
    }
}

@Suite("Alert conditions and retries")
struct AlertConditionTests {
    @Test("every kind in the Slack format: its title in bold, the message with &, < and > escaped")
    func slackBodies() {
        for kind in AlertKind.allCases {
            let record = AlertRecord(id: 7, event: AlertEvent(kind: kind, subject: "s", dedupKey: "d",
                message: "deployment <!channel> & co > 1"), createdAt: Date(), status: .pending)
            #expect(record.webhookBody(.slack) == ["text": .string("*\(kind.title)*: deployment &lt;!channel&gt; &amp; co &gt; 1")])
            #expect(record.webhookBody(.json)["message"] == "deployment <!channel> & co > 1")
        }
    }

    @Test("retries back off exponentially up to the cap, and stop after the last attempt")
    func backoff() {
        let timing = AlertDispatcher.Timing(retryBase: .seconds(1), retryCap: .seconds(10), maximumAttempts: 6)
        #expect((1...6).map { timing.retryDelay(after: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(8),
            .seconds(10), nil])
    }

    @Test("a node that died (silent in both Redis and PostgreSQL) is no alert; one cut off from either is")
    func unreachableNodes() {
        let now = Date()
        func node(_ id: String, heartbeat: TimeInterval, redisDown: TimeInterval? = nil) -> ClusterNode {
            ClusterNode(nodeID: id, address: "a", adminAddress: nil, version: "v", startedAt: now,
                lastHeartbeat: now.addingTimeInterval(heartbeat), redisUnreachableSince: redisDown.map(now.addingTimeInterval))
        }
        let events = AlertConditions.unreachable(
            nodes: [node("dead", heartbeat: -30), node("no-pg", heartbeat: -30), node("no-redis", heartbeat: 0, redisDown: -5),
                node("blip", heartbeat: 0, redisDown: -0.2)],
            redisBeats: ["dead": now.addingTimeInterval(-30), "no-pg": now], after: .seconds(1), at: now)
        #expect(events.map(\.kind) == [.postgresUnreachable, .redisUnreachable])
        #expect(events.map(\.subject) == ["node no-pg", "node no-redis"])
    }

    @Test("budgets alert at their soft and hard limits, once per period")
    func budgets() {
        let budget = BudgetRecord(id: UUID(), subject: .key("k1"), maxBudget: 10, softBudget: 5, duration: nil,
            periodStart: Date(timeIntervalSince1970: 0))
        #expect(AlertConditions.budgets([budget], spend: [4.99], at: Date()).isEmpty)
        #expect(AlertConditions.budgets([budget], spend: [5], at: Date()).map(\.kind) == [.budgetSoftCrossed])
        let both = AlertConditions.budgets([budget], spend: [12], at: Date())
        #expect(both.map(\.kind) == [.budgetSoftCrossed, .budgetHardReached])
        #expect(both.map(\.dedupKey) == ["budget_soft:\(budget.id):0", "budget_hard:\(budget.id):0"])
    }
}
