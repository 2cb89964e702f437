import Foundation
import Logging
import ScutumRedis
import ServiceLifecycle
import Synchronization

/// What one node adds to the cluster-wide realtime figures: per-minute Redis hashes that every node
/// increments (requests, errors, tokens, cost, a latency histogram, response-cache outcomes and
/// savings), a HyperLogLog of the keys seen each minute, and a per-day hash (tokens, cost, cache
/// outcomes, and per-model requests, errors, tokens and cost).
/// `record` only adds to memory; a flush every `interval` sends it in one pipeline, so the request
/// path never waits on Redis. `RealtimeReport` reads the figures back.
public final class RealtimeRecorder: Service, Sendable {
    /// One minute's (or one day's) increments, before they are sent.
    struct Totals {
        var counts: [String: Int64] = [:]
        var amounts: [String: Double] = [:]
        var keys: Set<String> = []
    }

    public let keys: RealtimeKeys
    private let redis: RedisClient
    private let pending = Mutex<[String: Totals]>([:])
    private let loop: FlushLoop
    private let logger: Logger

    public init(redis: RedisClient, namespace: String, interval: Duration = .seconds(1), logger: Logger) {
        self.redis = redis
        self.keys = RealtimeKeys(namespace: namespace)
        self.loop = FlushLoop(interval: interval)
        self.logger = logger
    }

    /// A finished request: the model asked for, its status, how long it took, its tokens and cost.
    public func record(model: String, status: Int, latency: Duration, promptTokens: Int, completionTokens: Int,
        cost: Double, keyID: String?, at date: Date = Date())
    {
        let minute = keys.minute(date)
        let day = keys.day(date)
        let failed = status >= 400 ? Int64(1) : 0
        let bucket = RealtimeKeys.latencyBucket(latency)
        pending.withLock { pending in
            pending[minute, default: Totals()].add([
                "requests": 1, "errors": failed, "prompt_tokens": Int64(promptTokens),
                "completion_tokens": Int64(completionTokens), "lat:\(bucket)": 1,
            ], cost: cost, key: keyID)
            let prefix = "model:\(model):"
            pending[day, default: Totals()].add([
                "requests": 1, "errors": failed, "prompt_tokens": Int64(promptTokens),
                "completion_tokens": Int64(completionTokens), prefix + "requests": 1, prefix + "errors": failed,
                prefix + "tokens": Int64(promptTokens + completionTokens),
            ], cost: cost, costFields: ["cost", prefix + "cost"], key: nil)
        }
    }

    /// The response cache's answer to one request: `outcome` is `hit`, `miss` or `bypass` (anything
    /// else is ignored, so the hashes' fields stay bounded); `savedCost` is what a hit would have cost
    /// upstream (USD). Counted in the minute's and the day's hash as `cache_hits`, `cache_misses`,
    /// `cache_bypasses` and `cache_saved_usd`.
    public func recordCache(outcome: String, savedCost: Double, at date: Date = Date()) {
        guard let field = RealtimeKeys.cacheFields[outcome] else { return }
        let saved = outcome == "hit" && savedCost.isFinite ? max(savedCost, 0) : 0
        let minute = keys.minute(date)
        let day = keys.day(date)
        pending.withLock { pending in
            for hash in [minute, day] {
                pending[hash, default: Totals()].add([field: 1], cost: saved, costFields: ["cache_saved_usd"], key: nil)
            }
        }
    }

    public func run() async throws {
        await loop.run { await self.flush() }
    }

    /// Sends everything recorded so far; keeps it for the next flush if Redis fails.
    public func flush() async {
        let batch = pending.withLock { pending -> [String: Totals] in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return }
        var commands: [[RedisArgument]] = []
        for (key, totals) in batch {
            for (field, count) in totals.counts where count != 0 {
                commands.append(["HINCRBY", RedisArgument(key), RedisArgument(field), RedisArgument(String(count))])
            }
            for (field, amount) in totals.amounts where amount != 0 {
                commands.append(["HINCRBYFLOAT", RedisArgument(key), RedisArgument(field), RedisArgument(String(amount))])
            }
            let isDay = key.hasPrefix(keys.dayPrefix)
            commands.append(["EXPIRE", RedisArgument(key), RedisArgument(String(isDay ? 3 * 86_400 : 2 * 3_600))])
            if !totals.keys.isEmpty {
                let set = keys.activeKeys(forMinuteKey: key)
                commands.append(["PFADD", RedisArgument(set)] + totals.keys.sorted().map { RedisArgument($0) })
                commands.append(["EXPIRE", RedisArgument(set), "7200"])
            }
        }
        do {
            _ = try await redis.pipeline(commands)
        } catch {
            logger.debug("realtime figures not sent; will retry", metadata: ["error": "\(error)"])
            pending.withLock { pending in
                for (key, totals) in batch { pending[key, default: Totals()].merge(totals) }
            }
        }
    }
}

extension RealtimeRecorder.Totals {
    mutating func add(_ increments: [String: Int64], cost: Double, costFields: [String] = ["cost"], key: String?) {
        for (field, value) in increments { counts[field, default: 0] += value }
        for field in costFields { amounts[field, default: 0] += cost }
        if let key { keys.insert(key) }
    }

    mutating func merge(_ other: Self) {
        for (field, value) in other.counts { counts[field, default: 0] += value }
        for (field, value) in other.amounts { amounts[field, default: 0] += value }
        keys.formUnion(other.keys)
    }
}

/// The Redis keys of the realtime figures, and the latency histogram's buckets.
public struct RealtimeKeys: Sendable {
    public let namespace: String

    /// Upper bounds of the latency buckets, in milliseconds; the last bucket is everything above.
    public static let latencyBounds: [Double] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000]

    /// The hash field that counts each response-cache outcome.
    public static let cacheFields = ["hit": "cache_hits", "miss": "cache_misses", "bypass": "cache_bypasses"]

    public init(namespace: String) {
        self.namespace = namespace
    }

    var dayPrefix: String { "\(namespace):rt:d:" }

    /// The hash of the minute `date` falls in.
    public func minute(_ date: Date) -> String { minute(number: Int64(date.timeIntervalSince1970) / 60) }

    public func minute(number: Int64) -> String { "\(namespace):rt:m:\(number)" }

    /// The HyperLogLog of keys seen in a minute: `{<namespace>:rt:k}:<minute>`, every minute's in one hash
    /// slot, so that one `PFCOUNT` counts the keys of several minutes in a Redis Cluster too.
    public func activeKeys(forMinuteKey key: String) -> String {
        "{" + key.replacingOccurrences(of: ":rt:m:", with: ":rt:k}:")
    }

    /// The hash of the UTC day `date` falls in.
    public func day(_ date: Date) -> String { dayPrefix + String(Int64(date.timeIntervalSince1970) / 86_400) }

    /// The bucket index of a latency.
    public static func latencyBucket(_ latency: Duration) -> Int {
        let milliseconds = Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15
        return latencyBounds.firstIndex { milliseconds <= $0 } ?? latencyBounds.count
    }
}
