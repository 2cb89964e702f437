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
    /// One minute's (or one day's) increments by hash field, as they are sent.
    struct Totals {
        var counts: [String: Int64] = [:]
        var amounts: [String: Double] = [:]
        var keys: Set<String> = []
    }

    /// Requests, errors, tokens and cost, added up.
    struct Tally {
        var requests: Int64 = 0
        var errors: Int64 = 0
        var promptTokens: Int64 = 0
        var completionTokens: Int64 = 0
        var cost = 0.0

        mutating func add(failed: Int64, promptTokens: Int, completionTokens: Int, cost: Double) {
            requests += 1
            errors += failed
            self.promptTokens += Int64(promptTokens)
            self.completionTokens += Int64(completionTokens)
            self.cost += cost
        }
    }

    /// What one minute's or one day's hash gets, kept by number and model until a flush names the
    /// fields: recording a request builds no key or field name.
    struct Period {
        var all = Tally()
        /// Per latency bucket (minutes only).
        var latency: [Int64] = []
        /// Per model (days only).
        var models: [String: Tally] = [:]
        /// Per response-cache outcome, in `RealtimeKeys.cacheOutcomes` order.
        var cache: [Int64] = [0, 0, 0]
        var saved = 0.0
        var keys: Set<String> = []
    }

    /// What waits for the next flush: periods by minute and day number, and what a failed flush
    /// kept by key.
    struct Pending {
        var minutes: [Int64: Period] = [:]
        var days: [Int64: Period] = [:]
        var unsent: [String: Totals] = [:]
    }

    public let keys: RealtimeKeys
    private let redis: RedisClient
    private let pending = Mutex(Pending())
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
        let seconds = Int64(date.timeIntervalSince1970)
        let failed = status >= 400 ? Int64(1) : 0
        let bucket = RealtimeKeys.latencyBucket(latency)
        pending.withLock { pending in
            pending.minutes[seconds / 60, default: Period()].addMinute(failed: failed, bucket: bucket,
                promptTokens: promptTokens, completionTokens: completionTokens, cost: cost, key: keyID)
            pending.days[seconds / 86_400, default: Period()].addDay(model: model, failed: failed,
                promptTokens: promptTokens, completionTokens: completionTokens, cost: cost)
        }
    }

    /// The response cache's answer to one request: `outcome` is `hit`, `miss` or `bypass` (anything
    /// else is ignored, so the hashes' fields stay bounded); `savedCost` is what a hit would have cost
    /// upstream (USD). Counted in the minute's and the day's hash as `cache_hits`, `cache_misses`,
    /// `cache_bypasses` and `cache_saved_usd`.
    public func recordCache(outcome: String, savedCost: Double, at date: Date = Date()) {
        guard let index = RealtimeKeys.cacheOutcomes.firstIndex(of: outcome) else { return }
        let saved = outcome == "hit" && savedCost.isFinite ? max(savedCost, 0) : 0
        let seconds = Int64(date.timeIntervalSince1970)
        pending.withLock { pending in
            pending.minutes[seconds / 60, default: Period()].addCache(index, saved: saved)
            pending.days[seconds / 86_400, default: Period()].addCache(index, saved: saved)
        }
    }

    public func run() async throws {
        await loop.run { await self.flush() }
    }

    /// Sends everything recorded so far; keeps it for the next flush if Redis fails.
    public func flush() async {
        let batch = pending.withLock { pending -> [String: Totals] in
            var batch = pending.unsent
            for (number, period) in pending.minutes {
                batch[keys.minute(number: number), default: Totals()].merge(period.minuteTotals())
            }
            for (number, period) in pending.days {
                batch[keys.day(number: number), default: Totals()].merge(period.dayTotals())
            }
            pending.minutes.removeAll(keepingCapacity: true)
            pending.days.removeAll(keepingCapacity: true)
            pending.unsent.removeAll(keepingCapacity: true)
            return batch
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
                for (key, totals) in batch { pending.unsent[key, default: Totals()].merge(totals) }
            }
        }
    }
}

extension RealtimeRecorder.Period {
    mutating func addMinute(failed: Int64, bucket: Int, promptTokens: Int, completionTokens: Int, cost: Double,
        key: String?)
    {
        all.add(failed: failed, promptTokens: promptTokens, completionTokens: completionTokens, cost: cost)
        if latency.isEmpty { latency = Array(repeating: 0, count: RealtimeKeys.latencyBounds.count + 1) }
        latency[bucket] += 1
        if let key { keys.insert(key) }
    }

    mutating func addDay(model: String, failed: Int64, promptTokens: Int, completionTokens: Int, cost: Double) {
        all.add(failed: failed, promptTokens: promptTokens, completionTokens: completionTokens, cost: cost)
        models[model, default: RealtimeRecorder.Tally()].add(failed: failed, promptTokens: promptTokens,
            completionTokens: completionTokens, cost: cost)
    }

    mutating func addCache(_ index: Int, saved: Double) {
        cache[index] += 1
        self.saved += saved
    }

    /// The fields of a minute's hash: totals, the latency histogram (`lat:N`), cache outcomes.
    func minuteTotals() -> RealtimeRecorder.Totals {
        var totals = commonTotals()
        for (bucket, count) in latency.enumerated() where count != 0 { totals.counts["lat:\(bucket)"] = count }
        totals.keys = keys
        return totals
    }

    /// The fields of a day's hash: totals, cache outcomes, and per model `model:NAME:requests`,
    /// `:errors`, `:tokens` and `:cost`.
    func dayTotals() -> RealtimeRecorder.Totals {
        var totals = commonTotals()
        for (model, tally) in models {
            let prefix = "model:\(model):"
            totals.counts[prefix + "requests"] = tally.requests
            totals.counts[prefix + "errors"] = tally.errors
            totals.counts[prefix + "tokens"] = tally.promptTokens + tally.completionTokens
            totals.amounts[prefix + "cost"] = tally.cost
        }
        return totals
    }

    private func commonTotals() -> RealtimeRecorder.Totals {
        var totals = RealtimeRecorder.Totals()
        if all.requests > 0 {
            totals.counts["requests"] = all.requests
            totals.counts["errors"] = all.errors
            totals.counts["prompt_tokens"] = all.promptTokens
            totals.counts["completion_tokens"] = all.completionTokens
            totals.amounts["cost"] = all.cost
        }
        for (index, count) in cache.enumerated() where count != 0 {
            totals.counts[RealtimeKeys.cacheFields[RealtimeKeys.cacheOutcomes[index]]!] = count
        }
        if cache.contains(where: { $0 != 0 }) { totals.amounts["cache_saved_usd"] = saved }
        return totals
    }
}

extension RealtimeRecorder.Totals {
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
    /// The response cache's outcomes, in the order a period counts them.
    static let cacheOutcomes = ["hit", "miss", "bypass"]

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
    public func day(_ date: Date) -> String { day(number: Int64(date.timeIntervalSince1970) / 86_400) }

    /// The hash of UTC day `number` (days since 1970).
    public func day(number: Int64) -> String { dayPrefix + String(number) }

    /// The bucket index of a latency.
    public static func latencyBucket(_ latency: Duration) -> Int {
        let milliseconds = Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15
        return latencyBounds.firstIndex { milliseconds <= $0 } ?? latencyBounds.count
    }
}
