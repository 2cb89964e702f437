import Foundation
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
            let (load, keyID) = try await SteadyLoad.prepare(gateway, label: "sentinel")
            let connector = RedisConnector(configuration: configuration)
            let before = try await connector.resolveMaster()
            var direct = RedisConfiguration(host: sentinel.endpoints[0].host, port: sentinel.endpoints[0].port,
                password: sentinel.password, connectionCount: 1, commandTimeout: .seconds(5), connectTimeout: .seconds(2))
            direct.username = sentinel.username
            direct.tls = configuration.tls
            let admin = RedisClient(configuration: direct, logger: TestEnvironment.logger)
            let ids = try await load.run(tail: 25) {
                try await Task.sleep(for: .milliseconds(500))
                _ = try await forceSentinelFailover(sentinel: admin, masterName: sentinel.masterName,
                    connector: connector, from: before)
                try await Task.sleep(for: .milliseconds(500))
            }
            await admin.close()
            #expect(try await connector.resolveMaster() != before)
            #expect(ids.count >= 100)
            try await load.expectOneSpendRowEach(ids, keyID: keyID)
        }
    }
}
