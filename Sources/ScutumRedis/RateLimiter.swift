import Foundation

/// Cluster-wide concurrency slots (`max_parallel_requests`), one counter per name in Redis.
///
/// Keys are hash-tagged per name (`{scutum:par:<name>}`), so each command touches a single slot.
public struct RateLimiter: Sendable {
    public let redis: RedisClient
    public let namespace: String

    public init(redis: RedisClient, namespace: String = "scutum") {
        self.redis = redis
        self.namespace = namespace
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

    /// A reply saying the server does not know the script.
    static func isNoScript(_ reply: RedisValue) -> Bool { RedisScript.isNoScript(reply) }

    /// A duration in whole milliseconds.
    public static func millisecondsPublic(_ duration: Duration) -> Int { milliseconds(duration) }

    static func milliseconds(_ duration: Duration) -> Int { Int(duration.wholeMilliseconds) }
}
