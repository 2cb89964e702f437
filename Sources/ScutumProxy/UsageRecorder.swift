import Foundation
import Logging
import ScutumCore
import ScutumRedis
import ServiceLifecycle
import Synchronization

/// Counts requests and tokens per minute in Redis, shared by every node, without touching the
/// response path: `record` adds to an in-memory tally that a background service flushes in one
/// pipelined round trip per interval.
///
/// Keys: `scutum:usage:{minute}:{metric}` for the whole gateway and
/// `scutum:usage:{minute}:{metric}:key:{hash}` per key, where `minute` is minutes since 1970 (UTC)
/// and metric is `requests` or `tokens`. They expire after two hours.
public final class UsageRecorder: Service, Sendable {
    private let tally = Mutex<[String: Int]>([:])
    private let redis: RedisClient
    private let interval: Duration
    private let logger: Logger

    public init(redis: RedisClient, interval: Duration = .milliseconds(500), logger: Logger) {
        self.redis = redis
        self.interval = interval
        self.logger = logger
    }

    /// Records one finished request.
    public func record(keyHash: String?, usage: TokenUsage?, at date: Date = Date()) {
        let minute = Self.minuteStamp(date)
        let tokens = usage?.totalTokens ?? 0
        tally.withLock { tally in
            tally["scutum:usage:\(minute):requests", default: 0] += 1
            if tokens > 0 { tally["scutum:usage:\(minute):tokens", default: 0] += tokens }
            if let keyHash {
                tally["scutum:usage:\(minute):requests:key:\(keyHash)", default: 0] += 1
                if tokens > 0 { tally["scutum:usage:\(minute):tokens:key:\(keyHash)", default: 0] += tokens }
            }
        }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await flush()
        }
        await flush()
    }

    /// Writes the tally to Redis now. On failure the counts are kept for the next attempt.
    public func flush() async {
        let batch = tally.withLock { tally -> [String: Int] in
            defer { tally.removeAll(keepingCapacity: true) }
            return tally
        }
        guard !batch.isEmpty else { return }
        var commands: [[RedisArgument]] = []
        commands.reserveCapacity(batch.count * 2)
        for (key, amount) in batch {
            commands.append(["INCRBY", RedisArgument(key), RedisArgument(amount)])
            commands.append(["EXPIRE", RedisArgument(key), 7200])
        }
        do {
            _ = try await redis.pipeline(commands)
        } catch {
            logger.warning("usage counters not written to Redis; will retry", metadata: ["error": "\(error)"])
            tally.withLock { tally in
                for (key, amount) in batch { tally[key, default: 0] += amount }
            }
        }
    }

    /// Minutes since 1970, the bucket a request is counted in.
    public static func minuteStamp(_ date: Date) -> Int {
        Int(date.timeIntervalSince1970) / 60
    }
}
