import Foundation
import ScutumRedis
import ScutumTestSupport
import Testing

/// Two nodes' breakers on one Redis: each its own client, `ProviderHealth` (board) and `BreakerSync`.
struct TwoNodes {
    let a: ProviderHealth
    let b: ProviderHealth
    let redis: RedisClient
    /// The connection names of each node's subscriber.
    let names: (a: String, b: String)

    /// Waits until `condition` holds, up to `limit`; how long that took, nil if it never did.
    static func time(upTo limit: Duration = .seconds(2), since start: ContinuousClock.Instant = .now,
        until condition: () -> Bool) async throws -> Duration?
    {
        while ContinuousClock.now - start < limit {
            if condition() { return ContinuousClock.now - start }
            try await Task.sleep(for: .microseconds(200))
        }
        return condition() ? ContinuousClock.now - start : nil
    }

    /// Runs both nodes' syncs (node b reconciling every `reconcileB`) until `body` returns. `knownToB`
    /// are on node b's board before its sync starts, so its first reconcile reads them.
    static func with(threshold: Int = 1, cooldown: Duration = .seconds(30), reconcileB: Duration = .seconds(60),
        knownToB: [String] = [], _ body: (TwoNodes) async throws -> Void) async throws
    {
        let namespace = String(uniqueKeyPrefix().dropLast())
        let tag = UUID().uuidString.prefix(8)
        let names = (a: "test-breakers-a-\(tag)", b: "test-breakers-b-\(tag)")
        try await withTestRedis { redisA in
            try await withTestRedis { redisB in
                let a = ProviderHealth(redis: redisA, namespace: namespace, threshold: threshold, cooldown: cooldown)
                let b = ProviderHealth(redis: redisB, namespace: namespace, threshold: threshold, cooldown: cooldown)
                _ = b.board.read(knownToB)
                let syncA = BreakerSync(health: a, configuration: TestEnvironment.redisConfiguration,
                    reconcileInterval: .seconds(60), name: names.a, logger: TestEnvironment.logger)
                let syncB = BreakerSync(health: b, configuration: TestEnvironment.redisConfiguration,
                    reconcileInterval: reconcileB, name: names.b, logger: TestEnvironment.logger)
                let outcome: Result<Void, any Error>
                do {
                    outcome = .success(try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await syncA.run() }
                        group.addTask { try await syncB.run() }
                        defer { group.cancelAll() }
                        try await waitForSubscribers(2, on: a.channel, redis: redisA)
                        try await body(TwoNodes(a: a, b: b, redis: redisA, names: names))
                    })
                } catch {
                    outcome = .failure(error)
                }
                try await deleteKeys(withPrefix: "{" + namespace, using: redisA)
                try outcome.get()
            }
        }
    }

    /// Waits until `count` connections subscribe to `channel`: on the test Redis, or summed over the seed
    /// nodes of a Redis Cluster (subscribers connect to a seed; `PUBSUB NUMSUB` counts one node's).
    static func waitForSubscribers(_ count: Int, on channel: String, redis: RedisClient) async throws {
        let configuration = TestEnvironment.redisConfiguration
        let nodes = configuration.isCluster ? configuration.endpoints.map { endpoint in
            RedisClient(configuration: configuration.node(endpoint), logger: TestEnvironment.logger)
        } : [redis]
        let deadline = ContinuousClock.now + .seconds(5)
        var subscribed: Int64 = 0
        while ContinuousClock.now < deadline {
            subscribed = 0
            for node in nodes {
                let reply = try? await node.send(["PUBSUB", "NUMSUB", RedisArgument(channel)])
                subscribed += reply?.array?.last?.int ?? 0
            }
            if subscribed == Int64(count) { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        if configuration.isCluster { for node in nodes { await node.close() } }
        if subscribed != Int64(count) { Issue.record("\(count) subscribers never came on \(channel)") }
    }
}

@Suite("Breakers pushed to every node", .timeLimit(.minutes(1)))
struct BreakerSyncTests {
    @Test("a breaker opened through one node is open on the other within 100 ms (50 trials)")
    func propagation() async throws {
        try await TwoNodes.with { nodes in
            var times: [Duration] = []
            for trial in 0..<50 {
                let name = "deployment-\(trial)"
                #expect(nodes.b.board.reading(name) == .closed)
                let start = ContinuousClock.now
                #expect(try await nodes.a.recordFailure(name, probing: false))
                // The opening node's own board knows at once.
                #expect(nodes.a.board.reading(name) == .open)
                let seen = try await TwoNodes.time(since: start) { nodes.b.board.reading(name) == .open }
                times.append(try #require(seen, "node b never saw \(name) open"))
            }
            times.sort()
            let p50 = times[times.count / 2], p99 = times[Int(Double(times.count - 1) * 0.99)]
            print("breaker propagation over \(times.count) trials (failure script + publish + delivery):",
                "p50 \(p50), p99 \(p99), max \(times.last!)")
            // Pushed, not found by a reconcile (node b's is a minute away): typically within 100 ms; on a
            // machine whose cores other tests saturate the slowest trials can wait seconds for a thread.
            #expect(p50 <= .milliseconds(100), "p50 \(p50), p99 \(p99)")
            #expect(times.last! <= .seconds(10), "p50 \(p50), p99 \(p99), max \(times.last!)")
        }
    }

    @Test("the half-open probe goes to exactly one node; the other keeps skipping until it is published")
    func singleProbe() async throws {
        // A cooldown long enough that a loaded machine cannot outlast the half-open state it leads to
        // (`tripped` lives 20 cooldowns) between two steps of this test.
        try await TwoNodes.with(cooldown: .seconds(1)) { nodes in
            try await nodes.a.recordFailure("gpt", probing: false)
            #expect(try await TwoNodes.time { nodes.b.board.reading("gpt") == .open } != nil)
            // The cooldown passes on both boards by themselves.
            #expect(try await TwoNodes.time(upTo: .seconds(5)) { nodes.a.board.reading("gpt") == .halfOpen && nodes.b.board.reading("gpt") == .halfOpen } != nil)
            async let fromA = nodes.a.admitHalfOpen(["gpt"])
            async let fromB = nodes.b.admitHalfOpen(["gpt"])
            let answers = try await [fromA[0], fromB[0]]
            #expect(answers.filter { $0 == .probe }.count == 1, "\(answers)")
            #expect(answers.filter { $0 == .open }.count == 1, "\(answers)")
            #expect(nodes.a.board.reading("gpt") == .open && nodes.b.board.reading("gpt") == .open)
            // The probe fails: open again for a cooldown, everywhere.
            let prober = answers[0] == .probe ? nodes.a : nodes.b
            let other = answers[0] == .probe ? nodes.b : nodes.a
            #expect(try await prober.recordFailure("gpt", probing: true))
            #expect(try await nodes.a.state("gpt") == "open")
            // Half-open again; this time the probe succeeds and the other node hears it closed.
            // Both boards, each by its own clock: the prober asks first, so it gets the probe.
            #expect(try await TwoNodes.time(upTo: .seconds(5)) {
                prober.board.reading("gpt") == .halfOpen && other.board.reading("gpt") == .halfOpen
            } != nil)
            // Redis decides (its own record of the cooldown may end a moment after a board's clock):
            // the prober may be told `open` until then, never anyone else `probe`.
            var probed = false
            let deadline = ContinuousClock.now + .seconds(5)
            while !probed && ContinuousClock.now < deadline {
                probed = try await prober.admitHalfOpen(["gpt"]) == [.probe]
                if !probed { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(probed)
            #expect(try await other.admitHalfOpen(["gpt"]) == [.open])
            try await prober.recordProbeSuccess("gpt")
            #expect(try await TwoNodes.time(upTo: .milliseconds(500)) { other.board.reading("gpt") == .closed } != nil)
        }
    }

    @Test("the periodic reconcile catches what was never published")
    func reconcileFixesMissedMessages() async throws {
        try await TwoNodes.with(reconcileB: .milliseconds(200)) { nodes in
            #expect(nodes.b.board.reading("gpt") == .closed)
            let keys = nodes.b.keys("gpt")
            // Opened in Redis behind the nodes' backs: no message.
            try await nodes.redis.send(["SET", RedisArgument(keys.tripped), "1", "PX", 600_000])
            try await nodes.redis.send(["SET", RedisArgument(keys.open), "1", "PX", 30_000])
            #expect(try await TwoNodes.time(upTo: .seconds(2)) { nodes.b.board.reading("gpt") == .open } != nil)
            #expect(nodes.a.board.reading("gpt") == .closed, "node a reconciles once a minute here")
            // Its cooldown cut short in Redis: half-open, then closed.
            try await nodes.redis.send(["DEL", RedisArgument(keys.open)])
            #expect(try await TwoNodes.time(upTo: .seconds(2)) { nodes.b.board.reading("gpt") == .halfOpen } != nil)
            try await nodes.redis.send(["DEL", RedisArgument(keys.tripped)])
            #expect(try await TwoNodes.time(upTo: .seconds(2)) { nodes.b.board.reading("gpt") == .closed } != nil)
        }
    }

    @Test("after its subscription is lost, a node reconciles as soon as it is back")
    func reconcileAfterReconnect() async throws {
        try await TwoNodes.with(knownToB: ["gpt"]) { nodes in
            // Node b's reconcile on subscribing has run (it reads "gpt"); the next is a minute away.
            #expect(try await TwoNodes.time(upTo: .seconds(5)) { nodes.b.board.reconciliations >= 1 } != nil)
            #expect(nodes.b.board.reading("gpt") == .closed)
            let reconciled = nodes.b.board.reconciliations
            let keys = nodes.b.keys("gpt")
            try await nodes.redis.send(["SET", RedisArgument(keys.tripped), "1", "PX", 600_000])
            try await nodes.redis.send(["SET", RedisArgument(keys.open), "1", "PX", 30_000])
            try await Task.sleep(for: .milliseconds(200))
            #expect(nodes.b.board.reconciliations == reconciled)
            #expect(nodes.b.board.reading("gpt") == .closed, "nothing was published and no reconcile is due")
            try await killClient(named: nodes.names.b, using: nodes.redis)
            #expect(try await TwoNodes.time(upTo: .seconds(3)) { nodes.b.board.reading("gpt") == .open } != nil)
            // And messages flow again on the new connection.
            try await TwoNodes.waitForSubscribers(2, on: nodes.a.channel, redis: nodes.redis)
            try await nodes.a.recordFailure("claude", probing: false)
            #expect(try await TwoNodes.time(upTo: .milliseconds(500)) { nodes.b.board.reading("claude") == .open } != nil)
        }
    }

    @Test("without Redis a node keeps what its board knew; its own failures cannot open anything")
    func redisDown() async throws {
        try await withRefusingPort { port in
            let configuration = TestEnvironment.redisConfiguration(port: port)
            let redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
            let health = ProviderHealth(redis: redis, namespace: "scutum-test-down", threshold: 1)
            health.board.set("gpt", .open(remaining: .seconds(30)))
            let sync = BreakerSync(health: health, configuration: configuration, reconcileInterval: .milliseconds(50),
                logger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await sync.run() }
                try await Task.sleep(for: .milliseconds(300))
                #expect(health.board.read(["gpt", "claude"]) == [.open, .closed])
                await #expect(throws: RedisClientError.self) { try await health.recordFailure("claude", probing: false) }
                #expect(health.board.reading("claude") == .closed)
                group.cancelAll()
            }
            await redis.close()
        }
    }
}
