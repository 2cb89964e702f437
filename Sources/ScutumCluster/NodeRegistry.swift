import Foundation
import Logging
import ScutumRedis
import ServiceLifecycle
import Synchronization

/// Which nodes are alive: each node refreshes its heartbeat in a Redis sorted set every
/// `interval` and counts the nodes seen within `expiry`. The last count survives a Redis outage,
/// which is when it matters: per-node fallback limits are the cluster limit divided by it.
public final class NodeRegistry: Service, Sendable {
    public let nodeID: String
    private let redis: RedisClient
    private let key: String
    private let interval: Duration
    private let expiry: Duration
    private let count = Mutex(1)
    private let unreachableSince = Mutex<Date?>(nil)
    private let logger: Logger

    public init(redis: RedisClient, namespace: String, nodeID: String, interval: Duration = .seconds(2),
        expiry: Duration = .seconds(10), logger: Logger)
    {
        self.redis = redis
        self.key = "\(namespace):nodes"
        self.nodeID = nodeID
        self.interval = interval
        self.expiry = expiry
        self.logger = logger
    }

    /// Live nodes as last seen (at least 1: this one).
    public var liveNodes: Int { count.withLock { $0 } }

    /// Since when this node's heartbeats to Redis have been failing; nil while they succeed.
    public var redisUnreachableSince: Date? { unreachableSince.withLock { $0 } }

    /// Every node that beat within `expiry`, with when it last did (by its own clock).
    public func members() async throws -> [String: Date] {
        let cutoff = Date().timeIntervalSince1970 - Double(expiry.components.seconds)
        let reply = try await redis.send(["ZRANGEBYSCORE", RedisArgument(key), RedisArgument(String(cutoff)), "+inf",
            "WITHSCORES"])
        let values = reply.array ?? []
        var members: [String: Date] = [:]
        for index in stride(from: 0, to: values.count - 1, by: 2) {
            guard let node = values[index].string, let score = values[index + 1].string.flatMap(Double.init) else {
                continue
            }
            members[node] = Date(timeIntervalSince1970: score)
        }
        return members
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.beat()
                try? await Task.sleep(for: self.interval)
            }
        }
        _ = try? await redis.send(["ZREM", RedisArgument(key), RedisArgument(nodeID)])
    }

    /// Refreshes this node's heartbeat and the live count.
    public func beat() async {
        let now = Date().timeIntervalSince1970
        let cutoff = now - Double(expiry.components.seconds)
        do {
            let replies = try await redis.pipeline([
                ["ZADD", RedisArgument(key), RedisArgument(String(now)), RedisArgument(nodeID)],
                ["ZREMRANGEBYSCORE", RedisArgument(key), "-inf", RedisArgument(String(cutoff))],
                ["ZCARD", RedisArgument(key)],
            ])
            if let live = replies.last?.int { count.withLock { $0 = max(1, Int(live)) } }
            unreachableSince.withLock { $0 = nil }
        } catch {
            unreachableSince.withLock { since in since = since ?? Date() }
            logger.debug("node heartbeat failed", metadata: ["error": "\(error)"])
        }
    }
}
