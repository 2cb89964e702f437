import Foundation
import PostgresNIO
import ScutumCore
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import Testing

/// `SCUTUM_TEST_REDIS_SENTINEL_URL`: a master, its replica and a sentinel (`deploy/local/redis-sentinel.sh`).
private let sentinelURL = ProcessInfo.processInfo.environment["SCUTUM_TEST_REDIS_SENTINEL_URL"]

/// A gateway whose Redis is behind Sentinel, through a failover under load.
@Suite("A gateway behind Redis Sentinel", .serialized, .timeLimit(.minutes(2)),
    .enabled(if: sentinelURL != nil, "SCUTUM_TEST_REDIS_SENTINEL_URL is not set"))
struct RedisSentinelGatewayTests {
    @Test("SENTINEL FAILOVER under steady load: every request 200, each with exactly one spend row")
    func failoverUnderLoad() async throws {
        let url = try #require(sentinelURL)
        let configuration = try TestEnvironment.redisConfiguration(url: url)
        let sentinel = try #require(configuration.sentinel)
        try await Gateway.with(redisURL: url) { gateway in
            let (key, record) = try await gateway.keys.create(alias: "sentinel",
                settings: KeySettings(rpmLimit: 10_000_000, tpmLimit: 2_000_000_000))
            let connector = RedisConnector(configuration: configuration)
            let before = try await connector.resolveMaster()
            var direct = RedisConfiguration(host: sentinel.endpoints[0].host, port: sentinel.endpoints[0].port,
                password: sentinel.password, connectionCount: 1, commandTimeout: .seconds(5), connectTimeout: .seconds(2))
            direct.username = sentinel.username
            direct.tls = configuration.tls
            let admin = RedisClient(configuration: direct, logger: TestEnvironment.logger)
            let served = HotPathTests.Served()
            let switched = RedisClusterGatewayTests.Flag()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var index = 0
                        var after = 0
                        // Until the master has switched, and a little after.
                        while after < 25 {
                            index += 1
                            if switched.isSet { after += 1 }
                            let stream = (worker + index) % 3 == 0
                            let result = try await gateway.request("/v1/chat/completions", key: key,
                                body: Gateway.chat("sentinel \(worker)-\(index)", stream: stream))
                            if result.status == 200, let id = result.header("x-request-id") {
                                served.ids.withLock { $0.append(id) }
                            } else {
                                served.failures.withLock { $0.append(result.status) }
                            }
                        }
                    }
                }
                group.addTask {
                    defer { switched.set() }
                    try await Task.sleep(for: .milliseconds(500))
                    // A sentinel still settling answers NOGOODSLAVE or INPROG for a moment.
                    let asked = ContinuousClock.now
                    while true {
                        do {
                            try await admin.send(["SENTINEL", "FAILOVER", RedisArgument(sentinel.masterName)])
                            break
                        } catch RedisClientError.server(let message) where ContinuousClock.now - asked < .seconds(20) {
                            TestEnvironment.logger.info("failover refused for now: \(message)")
                            try await Task.sleep(for: .milliseconds(250))
                        }
                    }
                    while try await connector.resolveMaster() == before {
                        try #require(ContinuousClock.now - asked < .seconds(30), "the sentinels never named a new master")
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
                try await group.waitForAll()
            }
            await admin.close()
            #expect(try await connector.resolveMaster() != before)
            let ids = served.ids.withLock { $0 }
            let failures = served.failures.withLock { $0 }
            #expect(failures.isEmpty, "\(failures.count) failed, statuses \(Set(failures))")
            #expect(ids.count >= 100)
            let client = gateway.node.postgres
            let rows = try await eventually(timeout: .seconds(30)) { () async throws -> Int? in
                let (count, _) = try await PlatformTests.count(client,
                    "SELECT count(*)::int8, 0::float8 FROM spend_logs WHERE key_id = \(record.keyID) AND status = 200")
                return count >= ids.count ? count : nil
            }
            #expect(rows == ids.count, "every request served has its spend row")
            let stored = try await client.query(
                "SELECT request_id FROM spend_logs WHERE key_id = \(record.keyID)", logger: TestEnvironment.logger)
            var found: [String] = []
            for try await id in stored.decode(String.self) { found.append(id) }
            #expect(found.count == Set(found).count, "no request has two rows")
            #expect(Set(found) == Set(ids))
        }
    }
}
