import Foundation

/// A deployment's circuit breaker as every node sees it, kept in Redis.
///
/// Closed: calls go through; failures are counted in a sliding `window`. At `threshold` failures
/// the breaker opens for `cooldown`: every node skips the deployment. Then it is half-open: the
/// first node to ask gets the single probe (a `SET NX` lease), everyone else keeps skipping; the
/// probe's success closes the breaker, its failure opens it for another cooldown.
public struct ProviderHealth: Sendable {
    /// What a caller may do with a deployment now.
    public enum Admission: Int, Sendable {
        case closed = 0
        case open = 1
        /// Half-open, and this caller holds the probe.
        case probe = 2
    }

    public let redis: RedisClient
    public let namespace: String
    public let threshold: Int
    public let window: Duration
    public let cooldown: Duration

    public init(redis: RedisClient, namespace: String = "scutum", threshold: Int = 5, window: Duration = .seconds(60),
        cooldown: Duration = .seconds(30))
    {
        self.redis = redis
        self.namespace = namespace
        self.threshold = threshold
        self.window = window
        self.cooldown = cooldown
    }

    /// KEYS: open, tripped, probe. ARGV: probe lease ms.
    static let admitScript = RedisScript("""
        if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
        if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
        if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then return 2 end
        return 1
        """)

    /// KEYS: failures, open, tripped, probe. ARGV: threshold, window ms, cooldown ms, was probe (0/1).
    static let failureScript = RedisScript("""
        local tripped_ttl = tonumber(ARGV[3]) * 20
        if ARGV[4] == '1' then
            redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
            redis.call('SET', KEYS[3], '1', 'PX', tripped_ttl)
            redis.call('DEL', KEYS[4])
            return 1
        end
        local failures = redis.call('INCR', KEYS[1])
        if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        if failures >= tonumber(ARGV[1]) then
            redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
            redis.call('SET', KEYS[3], '1', 'PX', tripped_ttl)
            redis.call('DEL', KEYS[1])
            return 1
        end
        return 0
        """)

    /// The Redis keys of a deployment's breaker.
    public func keys(_ deployment: String) -> (failures: String, open: String, tripped: String, probe: String) {
        let tag = "{\(namespace):health:\(deployment)}"
        return (tag + ":failures", tag + ":open", tag + ":tripped", tag + ":probe")
    }

    /// The admission of each deployment, in one pipelined round trip.
    public func admit(_ deployments: [String]) async throws -> [Admission] {
        guard !deployments.isEmpty else { return [] }
        let lease = RedisArgument(Int(cooldown.wholeMilliseconds))
        let commands: [[RedisArgument]] = deployments.map { name in
            let keys = keys(name)
            return ["EVALSHA", RedisArgument(Self.admitScript.sha1), 3, RedisArgument(keys.open),
                RedisArgument(keys.tripped), RedisArgument(keys.probe), lease]
        }
        let replies = try await run(commands)
        return replies.map { Admission(rawValue: Int($0.int ?? 0)) ?? .closed }
    }

    /// Counts a failure; returns whether the breaker is (now) open.
    @discardableResult
    public func recordFailure(_ deployment: String, probing: Bool) async throws -> Bool {
        let keys = keys(deployment)
        let reply = try await run([["EVALSHA", RedisArgument(Self.failureScript.sha1), 4, RedisArgument(keys.failures),
            RedisArgument(keys.open), RedisArgument(keys.tripped), RedisArgument(keys.probe), RedisArgument(threshold),
            RedisArgument(Int(window.wholeMilliseconds)), RedisArgument(Int(cooldown.wholeMilliseconds)),
            RedisArgument(probing ? "1" : "0")]])
        return reply.first?.int == 1
    }

    /// A successful probe closes the breaker.
    public func recordProbeSuccess(_ deployment: String) async throws {
        let keys = keys(deployment)
        _ = try await redis.send(["DEL", RedisArgument(keys.failures), RedisArgument(keys.tripped), RedisArgument(keys.probe)])
    }

    /// The state names for metrics and the Admin API: `closed`, `open`, `half_open`.
    public func state(_ deployment: String) async throws -> String {
        let keys = keys(deployment)
        let replies = try await redis.pipeline([["EXISTS", RedisArgument(keys.open)], ["EXISTS", RedisArgument(keys.tripped)]])
        if replies.first?.int == 1 { return "open" }
        return replies.last?.int == 1 ? "half_open" : "closed"
    }

    /// `state(_:)` of several deployments in one pipelined round trip.
    public func states(_ deployments: [String]) async throws -> [String] {
        let commands: [[RedisArgument]] = deployments.flatMap { deployment -> [[RedisArgument]] in
            let keys = keys(deployment)
            return [["EXISTS", RedisArgument(keys.open)], ["EXISTS", RedisArgument(keys.tripped)]]
        }
        let replies = try await redis.pipeline(commands)
        return deployments.indices.map { index in
            if replies[2 * index].int == 1 { return "open" }
            return replies[2 * index + 1].int == 1 ? "half_open" : "closed"
        }
    }

    func run(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        var replies = try await redis.pipeline(commands)
        for _ in 0..<3 where replies.contains(where: RedisScript.isNoScript) {
            _ = try await redis.pipeline([["SCRIPT", "LOAD", RedisArgument(Self.admitScript.source)],
                ["SCRIPT", "LOAD", RedisArgument(Self.failureScript.source)]])
            replies = try await redis.pipeline(commands)
        }
        for reply in replies { if case .error(let message) = reply { throw RedisClientError.server(message) } }
        return replies
    }
}
