import Foundation

/// A deployment's circuit breaker as every node sees it, kept in Redis.
///
/// Closed: calls go through; failures are counted in a sliding `window`. At `threshold` failures
/// the breaker opens for `cooldown`: every node skips the deployment. Then it is half-open: the
/// first node to ask gets the single probe (a `SET NX` lease), everyone else keeps skipping; the
/// probe's success closes the breaker, its failure opens it for another cooldown.
///
/// Every opening and closing is published on `channel`; each node keeps what it hears on its
/// `board` (`BreakerSync`), so the request path reads the board and asks Redis only for a probe.
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
    /// This node's view of the breakers, kept current with its own results at once.
    public let board: BreakerBoard

    public init(redis: RedisClient, namespace: String = "scutum", threshold: Int = 5, window: Duration = .seconds(60),
        cooldown: Duration = .seconds(30), board: BreakerBoard = BreakerBoard())
    {
        self.redis = redis
        self.board = board
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

    /// KEYS: failures, open, tripped, probe. ARGV: threshold, window ms, cooldown ms, was probe (0/1),
    /// channel, deployment. Publishes `open <deployment> <cooldown ms>` when it opens the breaker.
    static let failureScript = RedisScript("""
        local tripped_ttl = tonumber(ARGV[3]) * 20
        if ARGV[4] == '1' then
            redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
            redis.call('SET', KEYS[3], '1', 'PX', tripped_ttl)
            redis.call('DEL', KEYS[4])
            redis.call('PUBLISH', ARGV[5], 'open ' .. ARGV[6] .. ' ' .. ARGV[3])
            return 1
        end
        local failures = redis.call('INCR', KEYS[1])
        if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        if failures >= tonumber(ARGV[1]) then
            redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
            redis.call('SET', KEYS[3], '1', 'PX', tripped_ttl)
            redis.call('DEL', KEYS[1])
            redis.call('PUBLISH', ARGV[5], 'open ' .. ARGV[6] .. ' ' .. ARGV[3])
            return 1
        end
        return 0
        """)

    /// The Redis keys of a deployment's breaker.
    public func keys(_ deployment: String) -> (failures: String, open: String, tripped: String, probe: String) {
        let tag = "{\(namespace):health:\(deployment)}"
        return (tag + ":failures", tag + ":open", tag + ":tripped", tag + ":probe")
    }

    /// The channel breaker changes are published on (`BreakerMessage`).
    public var channel: String { namespace + ":breakers" }

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

    /// For deployments the board reads half-open: Redis's admission, which hands the single probe to
    /// one caller in the cluster. The board learns the answers: closed, open again, or (holding the
    /// probe, or another node holding it) open here until a result is published or the next reconcile.
    public func admitHalfOpen(_ deployments: [String]) async throws -> [Admission] {
        let admissions = try await admit(deployments)
        for (name, admission) in zip(deployments, admissions) {
            switch admission {
            case .closed: board.set(name, .closed)
            case .open, .probe: board.set(name, .open(remaining: cooldown))
            }
        }
        return admissions
    }

    /// Counts a failure; returns whether the breaker is (now) open. Opening it publishes the change
    /// and opens it on this node's board at once.
    @discardableResult
    public func recordFailure(_ deployment: String, probing: Bool) async throws -> Bool {
        let keys = keys(deployment)
        let reply = try await run([["EVALSHA", RedisArgument(Self.failureScript.sha1), 4, RedisArgument(keys.failures),
            RedisArgument(keys.open), RedisArgument(keys.tripped), RedisArgument(keys.probe), RedisArgument(threshold),
            RedisArgument(Int(window.wholeMilliseconds)), RedisArgument(Int(cooldown.wholeMilliseconds)),
            RedisArgument(probing ? "1" : "0"), RedisArgument(channel), RedisArgument(deployment)]])
        let opened = reply.first?.int == 1
        if opened { board.set(deployment, .open(remaining: cooldown)) }
        return opened
    }

    /// A successful probe closes the breaker: on this node's board at once, then in Redis, then
    /// on every other node's board (published).
    public func recordProbeSuccess(_ deployment: String) async throws {
        board.set(deployment, .closed)
        let keys = keys(deployment)
        let message = BreakerMessage(deployment: deployment, state: .closed).payload ?? ""
        let replies = try await redis.pipeline([
            ["DEL", RedisArgument(keys.failures), RedisArgument(keys.tripped), RedisArgument(keys.probe)],
            ["PUBLISH", RedisArgument(channel), RedisArgument(message)],
        ])
        for reply in replies { if case .error(let message) = reply { throw RedisClientError.server(message) } }
    }

    /// The state names for metrics and the Admin API: `closed`, `open`, `half_open`.
    public func state(_ deployment: String) async throws -> String {
        try await states([deployment])[0]
    }

    /// `state(_:)` of several deployments in one pipelined round trip.
    public func states(_ deployments: [String]) async throws -> [String] {
        try await snapshot(deployments).map { state in
            switch state {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half_open"
            }
        }
    }

    /// Each deployment's breaker in Redis, with how long an open one stays open, in one pipelined
    /// round trip.
    public func snapshot(_ deployments: [String]) async throws -> [BreakerState] {
        guard !deployments.isEmpty else { return [] }
        let commands: [[RedisArgument]] = deployments.flatMap { deployment -> [[RedisArgument]] in
            let keys = keys(deployment)
            return [["PTTL", RedisArgument(keys.open)], ["EXISTS", RedisArgument(keys.tripped)]]
        }
        let replies = try await redis.pipeline(commands)
        for reply in replies { if case .error(let message) = reply { throw RedisClientError.server(message) } }
        return deployments.indices.map { index in
            // PTTL: -2 no key, -1 a key without expiry (never written so; open for a cooldown).
            switch replies[2 * index].int ?? -2 {
            case -2: replies[2 * index + 1].int == 1 ? .halfOpen : .closed
            case -1: .open(remaining: cooldown)
            case let milliseconds: .open(remaining: .milliseconds(milliseconds))
            }
        }
    }

    /// Brings the board in line with Redis for every deployment it knows, in one round trip: what a
    /// lost message or connection hid.
    public func reconcile() async throws {
        let (deployments, version) = board.known()
        guard !deployments.isEmpty else { return }
        board.reconcile(deployments, try await snapshot(deployments), readAfter: version)
    }

    func run(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        let replies = try await redis.pipeline(commands, loading: [Self.admitScript, Self.failureScript])
        for reply in replies { if case .error(let message) = reply { throw RedisClientError.server(message) } }
        return replies
    }
}
