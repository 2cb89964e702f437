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
        } catch {
            logger.debug("node heartbeat failed", metadata: ["error": "\(error)"])
        }
    }
}
