import Foundation
import ScutumCore
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A gateway against a Redis Cluster (`SCUTUM_TEST_REDIS_CLUSTER_URL`, with replicas) whose master stops
/// answering: readiness and `/metrics` name the failing node, and requests are still served.
@Suite("A gateway on a Redis Cluster", .serialized, .timeLimit(.minutes(2)),
    .enabled(if: TestEnvironment.redisClusterConfiguration != nil, "SCUTUM_TEST_REDIS_CLUSTER_URL is not set"))
struct RedisClusterGatewayTests {
    @Test("readiness and /metrics say which master fails; completions are still served while it is down")
    func failingShard() async throws {
        let configuration = try #require(TestEnvironment.redisClusterConfiguration)
        let url = try #require(ProcessInfo.processInfo.environment["SCUTUM_TEST_REDIS_CLUSTER_URL"])
        try await Gateway.with(variables: ["SCUTUM_REDIS_TIMEOUT_MILLISECONDS": "300"], redisURL: url) { gateway in
            let redis = gateway.node.redis
            #expect(redis.isCluster)
            let ready = try await gateway.request("/health/readiness", method: .GET, key: nil)
            #expect(try ready.json["status"] as? String == "ready")
            let status = await redis.nodeStatus()
            #expect(status.count >= 3 && status.allSatisfy { $0.error == nil })
            let metrics = try await gateway.request("/metrics", method: .GET, key: nil).body
            for node in status {
                #expect(MetricsTests.sample(metrics, "scutum_redis_node_up{node=\"\(node.node)\"}") == 1, "\(node.node)")
            }
            let (key, _) = try await gateway.keys.create(alias: "cluster")
            #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)

            // Freeze the master of the last slots (SIGSTOP: connections open, nothing answers).
            let victim = try #require(status.last)
            let admin = RedisClient(configuration: configuration.node(victim.node), logger: TestEnvironment.logger)
            let info = try await admin.send(["INFO", "server"]).string ?? ""
            await admin.close()
            let pid = try #require(info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }
                .flatMap { Int32($0.dropFirst("process_id:".count)) })
            #expect(kill(pid, SIGSTOP) == 0)
            do {
                let degraded = try await gateway.request("/health/readiness", method: .GET, key: nil)
                #expect(degraded.status == 200)
                #expect(try degraded.json["status"] as? String == "degraded")
                let checks = try degraded.json["checks"] as? [String: String]
                let redisCheck = checks?["redis"] ?? ""
                #expect(redisCheck == "unavailable: 1 of \(status.count) nodes (slots \(victim.slotDescription))")
                let named = redisCheck.contains("127.0.0.1")
                #expect(!named, "no address on the public endpoint")
                let down = try await gateway.request("/metrics", method: .GET, key: nil).body
                #expect(MetricsTests.sample(down, "scutum_redis_node_up{node=\"\(victim.node)\"}") == 0)
                for node in status.dropLast() {
                    #expect(MetricsTests.sample(down, "scutum_redis_node_up{node=\"\(node.node)\"}") == 1)
                }
                // The request path awaits no Redis: served while a shard it may need is frozen.
                for _ in 0..<3 {
                    #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
                }
            } catch {
                kill(pid, SIGCONT)
                throw error
            }
            kill(pid, SIGCONT)
            // Its replica took over (or it answers again): ready once more, every master up.
            let recovered = try await eventually(timeout: .seconds(30)) { () async throws -> Bool? in
                let body = try await gateway.request("/health/readiness", method: .GET, key: nil).json
                return body["status"] as? String == "ready" ? true : nil
            }
            #expect(recovered == true)
        }
    }

    @Test("under steady load the spend stream's slot is resharded and its master fails over: every request 200, each with one spend row")
    func reshardAndFailoverUnderLoad() async throws {
        let configuration = try #require(TestEnvironment.redisClusterConfiguration)
        let url = try #require(ProcessInfo.processInfo.environment["SCUTUM_TEST_REDIS_CLUSTER_URL"])
        try await Gateway.with(redisURL: url) { gateway in
            let (load, keyID) = try await SteadyLoad.prepare(gateway, label: "reshard")
            let admin = ClusterAdmin(configuration: configuration)
            let ledger = SpendLedger(redis: gateway.node.redis, namespace: gateway.node.configuration.redisNamespace)
            let streamSlot = RedisHashSlot.slot(of: ledger.stream)
            let ids = try await load.run {
                try await Task.sleep(for: .milliseconds(500))
                try await admin.move(slot: streamSlot)
                try await Task.sleep(for: .milliseconds(500))
                try await admin.failOver(slot: streamSlot)
                try await Task.sleep(for: .milliseconds(500))
                try await admin.move(slot: streamSlot)
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(ids.count >= 80)
            try await load.expectOneSpendRowEach(ids, keyID: keyID)
        }
    }
}
