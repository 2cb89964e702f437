import Foundation
import ScutumRedis
import ScutumTestSupport
import Synchronization
import Testing

/// `SCUTUM_TEST_REDIS_SENTINEL_URL`: a `redis+sentinel://` URL of a master with one replica and a sentinel,
/// as `deploy/local/redis-sentinel.sh` starts them. `make test` sets it.
private let sentinelURL = ProcessInfo.processInfo.environment["SCUTUM_TEST_REDIS_SENTINEL_URL"]

@Suite("Redis behind Sentinel: discovery and failover",
    .enabled(if: sentinelURL != nil, "SCUTUM_TEST_REDIS_SENTINEL_URL is not set"), .serialized, .timeLimit(.minutes(2)))
struct RedisSentinelTests {
    func configuration() throws -> RedisConfiguration {
        var configuration = try TestEnvironment.redisConfiguration(url: try #require(sentinelURL))
        configuration.commandTimeout = .seconds(2)
        configuration.reconnectBackoff = .milliseconds(200)
        return configuration
    }

    /// A client of the first sentinel itself.
    func sentinelClient(_ configuration: RedisConfiguration) throws -> RedisClient {
        let sentinel = try #require(configuration.sentinel)
        var direct = RedisConfiguration(host: sentinel.endpoints[0].host, port: sentinel.endpoints[0].port,
            password: sentinel.password, connectionCount: 1, commandTimeout: .seconds(5), connectTimeout: .seconds(2))
        direct.username = sentinel.username
        direct.tls = configuration.tls
        return RedisClient(configuration: direct, logger: TestEnvironment.logger)
    }

    /// What a server says it is (`ROLE`), over a connection of its own.
    func role(of endpoint: RedisEndpoint, _ configuration: RedisConfiguration) async throws -> String? {
        var direct = configuration
        direct.sentinel = nil
        direct.endpoint = endpoint
        direct.connectionCount = 1
        return try await withTestRedis(configuration: direct) { redis in try await redis.send(["ROLE"]).array?.first?.string }
    }

    @Test("the sentinels name the master; commands go to it; a dead sentinel is skipped")
    func discovery() async throws {
        let configuration = try configuration()
        let master = try await RedisConnector(configuration: configuration).resolveMaster()
        #expect(try await role(of: master, configuration) == "master")

        try await withTestRedisKeys(configuration: configuration) { redis, prefix in
            try await redis.send(["SET", RedisArgument(prefix + "k"), "through sentinel"])
            #expect(try await redis.send(["GET", RedisArgument(prefix + "k")]).string == "through sentinel")
            #expect(try await redis.send(["ROLE"]).array?.first?.string == "master")
        }

        // A sentinel that refuses connections, listed first, is passed over for the next one.
        try await withRefusingPort { port in
            var withDead = configuration
            withDead.sentinel?.endpoints.insert(RedisEndpoint(host: "127.0.0.1", port: port), at: 0)
            let resolved = try await RedisConnector(configuration: withDead).resolveMaster()
            #expect(resolved == master)
        }
    }

    @Test("an unknown master name and a wrong sentinel password are refused, naming the cause")
    func refusals() async throws {
        let configuration = try configuration()
        var unknown = configuration
        unknown.sentinel?.masterName = "no-such-master"
        do {
            let found = try await RedisConnector(configuration: unknown).resolveMaster()
            Issue.record("resolved \(found)")
        } catch let error as RedisClientError {
            #expect("\(error)".contains("does not monitor a master named 'no-such-master'"), "\(error)")
        }

        var badPassword = configuration
        badPassword.sentinel?.password = "not-the-sentinel-password"
        let redis = RedisClient(configuration: badPassword, logger: TestEnvironment.logger)
        let error = await redisError { try await redis.ping() }
        await redis.close()
        let text = "\(String(describing: error))"
        #expect(text.contains("no sentinel named the master") && text.contains("WRONGPASS"), "\(text)")
        #expect(!text.contains("not-the-sentinel-password"))
    }

    /// The loop's last successful write, and its stop flag.
    final class Shared: Sendable {
        let written = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
    }

    /// What the command loop saw.
    struct Outcome: Sendable {
        var successes = 0
        var failures = 0
        var firstFailure: ContinuousClock.Instant?
        var lastFailure: ContinuousClock.Instant?
        var errors: [String] = []
    }

    @Test("SENTINEL FAILOVER while commands run: the client follows to the new master")
    func failover() async throws {
        let configuration = try configuration()
        let connector = RedisConnector(configuration: configuration)
        let before = try await connector.resolveMaster()
        let admin = try sentinelClient(configuration)
        let redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
        let prefix = uniqueKeyPrefix()
        let key = RedisArgument(prefix + "counter")
        let clock = ContinuousClock()
        let shared = Shared()
        try await redis.send(["SET", key, 0])

        let outcome = try await withThrowingTaskGroup(of: Outcome.self, returning: Outcome.self) { group in
            // The loop: SET key i, every few milliseconds, counting what fails.
            group.addTask {
                var outcome = Outcome()
                var i = 0
                while !shared.stop.load(ordering: .acquiring) {
                    i += 1
                    do {
                        try await redis.send(["SET", key, RedisArgument(i)])
                        shared.written.store(i, ordering: .releasing)
                        outcome.successes += 1
                    } catch {
                        outcome.failures += 1
                        outcome.firstFailure = outcome.firstFailure ?? clock.now
                        outcome.lastFailure = clock.now
                        if outcome.errors.count < 5 { outcome.errors.append("\(error)") }
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
                return outcome
            }
            defer { shared.stop.store(true, ordering: .releasing) }
            try await Task.sleep(for: .milliseconds(200))

            // Ask for the failover until the sentinels name a new master.
            let after = try await forceSentinelFailover(sentinel: admin,
                masterName: try #require(configuration.sentinel).masterName, connector: connector, from: before)
            let switched = clock.now
            let writtenAtSwitch = shared.written.load(ordering: .acquiring)
            // ... and the client's writes land there: the new master stopped replicating the old one when it
            // was promoted, so a value newer than the switch on it was written to it by the client.
            var direct = configuration
            direct.sentinel = nil
            direct.endpoint = after
            direct.connectionCount = 1
            let followed = try await withTestRedis(configuration: direct) { newMaster -> ContinuousClock.Instant? in
                while clock.now - switched < .seconds(30) {
                    if let seen = try await newMaster.send(["GET", key]).int, seen > writtenAtSwitch { return clock.now }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return nil
            }
            let following = try #require(followed, "the client kept writing elsewhere for 30 s after the switch")
            TestEnvironment.logger.notice("sentinel failover: the client followed \(following - switched) after the switch")
            #expect(following - switched < .seconds(5), "the client took \(following - switched) to follow the new master")
            try await Task.sleep(for: .milliseconds(200))
            shared.stop.store(true, ordering: .releasing)
            return try await group.next()!
        }

        var window = Duration.zero
        if let first = outcome.firstFailure, let last = outcome.lastFailure { window = last - first }
        print("sentinel failover: \(outcome.successes) commands succeeded, \(outcome.failures) failed over \(window)")
        // Failures are bounded: a short window around the switch, not an outage.
        #expect(outcome.failures <= 100, "\(outcome.failures) failures: \(outcome.errors)")
        #expect(window < .seconds(5), "failures over \(window): \(outcome.errors)")
        #expect(outcome.successes > 0)

        // After the switch, every write succeeds, on the new master.
        let now = try await connector.resolveMaster()
        #expect(now != before)
        #expect(try await role(of: now, configuration) == "master")
        for n in 1...20 {
            try await redis.send(["SET", key, RedisArgument(-n)])
        }
        var direct = configuration
        direct.sentinel = nil
        direct.endpoint = now
        #expect(try await withTestRedis(configuration: direct) { try await $0.send(["GET", key]) }.int == -20)
        try await redis.send(["DEL", key])
        await redis.close()
        await admin.close()
    }
}
