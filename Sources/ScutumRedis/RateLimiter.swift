import Foundation

/// One limit to check for a request: at most `limit` units (requests or tokens) in any `window`.
public struct RateLimit: Sendable, Equatable {
    /// What is limited, for keys and messages: `key:<id>:rpm`, `global:rpm`, `model:<name>:tpm`...
    public var name: String
    public var limit: Int
    /// Units this request takes: 1 for requests, the token estimate for tokens.
    public var cost: Int
    public var window: Duration

    public init(name: String, limit: Int, cost: Int = 1, window: Duration = .seconds(60)) {
        self.name = name
        self.limit = limit
        self.cost = cost
        self.window = window
    }
}

/// The answer for one limit.
public struct RateLimitOutcome: Sendable, Equatable {
    public init(limit: RateLimit, allowed: Bool, used: Int, retryAfterMilliseconds: Int) {
        self.limit = limit
        self.allowed = allowed
        self.used = used
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    public var limit: RateLimit
    public var allowed: Bool
    /// Units in the window after this request (or before it, when refused).
    public var used: Int
    /// When a refused request could fit (milliseconds).
    public var retryAfterMilliseconds: Int

    public var remaining: Int { max(0, limit.limit - used) }
}

/// Exact sliding-window limits in Redis: each limit is a sorted set of the requests in its window
/// (scored by Redis's own clock, so every node agrees) with their weights, checked and updated by
/// one atomic script. Several limits go out in one pipeline; if any refuses, the ones that admitted
/// the request are rolled back, so a refused request consumes nothing.
///
/// Keys are hash-tagged per limit (`{scutum:rl:<name>}`), so each script touches a single slot and
/// the limiter works on Redis Cluster.
public struct RateLimiter: Sendable {
    public let redis: RedisClient
    public let namespace: String

    public init(redis: RedisClient, namespace: String = "scutum") {
        self.redis = redis
        self.namespace = namespace
    }

    /// KEYS: the window's log (sorted set of request ids by time), their weights (hash), and the
    /// running sum of the weights. Each entry is added once and expired once, so a call costs
    /// O(log n) amortised whatever the limit, and memory is what the window holds.
    static let acquireScript = RedisScript("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local window = tonumber(ARGV[1])
        local limit = tonumber(ARGV[2])
        local cost = tonumber(ARGV[3])
        local member = ARGV[4]
        local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
        if #expired > 0 then
            local gone = 0
            for i = 1, #expired, 500 do
                local chunk = {}
                for j = i, math.min(i + 499, #expired) do chunk[#chunk + 1] = expired[j] end
                local weights = redis.call('HMGET', KEYS[2], unpack(chunk))
                for j = 1, #weights do gone = gone + (tonumber(weights[j]) or 0) end
                redis.call('HDEL', KEYS[2], unpack(chunk))
            end
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
            redis.call('DECRBY', KEYS[3], gone)
        end
        local used = tonumber(redis.call('GET', KEYS[3]) or '0')
        if used < 0 or redis.call('ZCARD', KEYS[1]) == 0 then
            used = 0
            redis.call('SET', KEYS[3], 0)
        end
        if used + cost > limit then
            local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
            local retry = window
            if #oldest > 0 then retry = tonumber(oldest[2]) + window - now end
            return {0, used, retry}
        end
        redis.call('ZADD', KEYS[1], now, member)
        redis.call('HSET', KEYS[2], member, cost)
        redis.call('INCRBY', KEYS[3], cost)
        redis.call('PEXPIRE', KEYS[1], window)
        redis.call('PEXPIRE', KEYS[2], window)
        redis.call('PEXPIRE', KEYS[3], window)
        return {1, used + cost, 0}
        """)

    /// Replaces a request's weight (a token estimate by the real count) if it is still in the window.
    static let reconcileScript = RedisScript("""
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
            local old = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
            redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
            redis.call('INCRBY', KEYS[3], tonumber(ARGV[2]) - old)
        end
        return 1
        """)

    /// Takes a request out of a window entirely (a refused request's admitted limits).
    static let removeScript = RedisScript("""
        local old = redis.call('HGET', KEYS[2], ARGV[1])
        if old then
            redis.call('ZREM', KEYS[1], ARGV[1])
            redis.call('HDEL', KEYS[2], ARGV[1])
            redis.call('DECRBY', KEYS[3], tonumber(old))
        end
        return 1
        """)

    func keys(_ limit: RateLimit) -> [String] {
        let tag = "{\(namespace):rl:\(limit.name)}"
        return [tag + ":log", tag + ":w", tag + ":sum"]
    }

    /// Checks and takes `limits` for the request `member` (a unique request id), in one round trip.
    public func acquire(_ limits: [RateLimit], member: String) async throws -> [RateLimitOutcome] {
        guard !limits.isEmpty else { return [] }
        let commands: [[RedisArgument]] = limits.map { limit in
            let keys = keys(limit)
            return ["EVALSHA", RedisArgument(Self.acquireScript.sha1), 3, RedisArgument(keys[0]), RedisArgument(keys[1]),
                RedisArgument(keys[2]), RedisArgument(Self.milliseconds(limit.window)), RedisArgument(limit.limit), RedisArgument(limit.cost),
                RedisArgument(member)]
        }
        let replies = try await pipelineLoadingScripts(commands)
        var outcomes: [RateLimitOutcome] = []
        for (limit, reply) in zip(limits, replies) {
            if case .error(let message) = reply { throw RedisClientError.server(message) }
            let values = reply.array ?? []
            guard values.count == 3, let allowed = values[0].int, let used = values[1].int, let retry = values[2].int else {
                throw RedisClientError.protocolError("unexpected rate limit reply \(reply)")
            }
            outcomes.append(RateLimitOutcome(limit: limit, allowed: allowed == 1, used: Int(used),
                retryAfterMilliseconds: Int(retry)))
        }
        if outcomes.contains(where: { !$0.allowed }) {
            // Give back what the admitting limits took.
            let rollback: [[RedisArgument]] = outcomes.filter(\.allowed).map { outcome in
                let keys = keys(outcome.limit)
                return ["EVALSHA", RedisArgument(Self.removeScript.sha1), 3, RedisArgument(keys[0]), RedisArgument(keys[1]),
                    RedisArgument(keys[2]), RedisArgument(member)]
            }
            if !rollback.isEmpty { _ = try await pipelineLoadingScripts(rollback) }
        }
        return outcomes
    }

    /// Sets the real units of a request admitted with an estimate (token limits after the answer).
    public func reconcile(_ limits: [RateLimit], member: String, actual: Int) async throws {
        guard !limits.isEmpty else { return }
        let commands: [[RedisArgument]] = limits.map { limit in
            let keys = keys(limit)
            return ["EVALSHA", RedisArgument(Self.reconcileScript.sha1), 3, RedisArgument(keys[0]), RedisArgument(keys[1]),
                RedisArgument(keys[2]), RedisArgument(member), RedisArgument(actual)]
        }
        _ = try await pipelineLoadingScripts(commands)
    }

    /// Cluster-wide concurrency: takes a slot of `name` if fewer than `limit` are taken; false when full.
    public func enter(_ name: String, limit: Int) async throws -> Bool {
        let key = "{\(namespace):par:\(name)}"
        let replies = try await redis.pipeline([["INCR", RedisArgument(key)], ["EXPIRE", RedisArgument(key), 600]])
        guard let count = replies.first?.int else { throw RedisClientError.protocolError("INCR returned \(replies)") }
        if count > limit {
            _ = try await redis.send(["DECR", RedisArgument(key)])
            return false
        }
        return true
    }

    /// Gives back a slot taken with `enter`.
    public func leave(_ name: String) async throws {
        _ = try await redis.send(["DECR", RedisArgument("{\(namespace):par:\(name)}")])
    }

    /// Sends EVALSHA commands; when the server has not seen the scripts yet (first use, or after a
    /// restart), loads them and sends the commands once more. The scripts change nothing when
    /// they fail with NOSCRIPT, so resending is safe. A flush between the load and the resend (a
    /// restart, `SCRIPT FLUSH`) gets another try or two.
    func pipelineLoadingScripts(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        var replies = try await redis.pipeline(commands)
        for _ in 0..<3 {
            guard replies.contains(where: Self.isNoScript) else { return replies }
            _ = try await redis.pipeline([
                ["SCRIPT", "LOAD", RedisArgument(Self.acquireScript.source)],
                ["SCRIPT", "LOAD", RedisArgument(Self.reconcileScript.source)],
                ["SCRIPT", "LOAD", RedisArgument(Self.removeScript.source)],
            ])
            replies = try await redis.pipeline(commands)
        }
        return replies
    }

    /// A reply saying the server does not know the script.
    static func isNoScript(_ reply: RedisValue) -> Bool {
        if case .error(let message) = reply { message.hasPrefix("NOSCRIPT") } else { false }
    }

    /// A duration in whole milliseconds.
    public static func millisecondsPublic(_ duration: Duration) -> Int { milliseconds(duration) }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
