import Foundation
import ScutumCore
import ScutumRedis

/// Reads the cluster-wide realtime figures every node's `RealtimeRecorder` keeps in Redis: the last
/// minutes (requests per minute, error rate, latency percentiles, active keys, response-cache hits,
/// misses, bypasses and savings), today's tokens, cost and cache figures with per-model usage, a
/// per-minute series for charts, and each deployment's breaker state.
public struct RealtimeReport: Sendable {
    let redis: RedisClient
    let keys: RealtimeKeys
    let health: ProviderHealth?

    public init(redis: RedisClient, namespace: String, health: ProviderHealth?) {
        self.redis = redis
        self.keys = RealtimeKeys(namespace: namespace)
        self.health = health
    }

    /// The figures at `now`: the summary covers the last `window` minutes (the current one included),
    /// the series the last `seriesMinutes`.
    public func json(now: Date = Date(), window: Int = 5, seriesMinutes: Int = 15, deployments: [String]) async throws
        -> JSONValue
    {
        let current = Int64(now.timeIntervalSince1970) / 60
        let minutes = (0..<Int64(max(window, seriesMinutes))).map { current - $0 }.reversed()
        var commands: [[RedisArgument]] = minutes.map { ["HGETALL", RedisArgument(keys.minute(number: $0))] }
        let windowMinutes = minutes.suffix(window)
        commands.append(["PFCOUNT"] + windowMinutes.map { RedisArgument(keys.activeKeys(forMinuteKey: keys.minute(number: $0))) })
        commands.append(["HGETALL", RedisArgument(keys.day(now))])
        let replies = try await redis.pipeline(commands)
        let perMinute = replies.prefix(minutes.count).map(Self.fields)
        let activeKeys = replies[minutes.count].int ?? 0
        let today = Self.fields(replies[minutes.count + 1])

        var requests = 0.0, errors = 0.0
        var cache: [String: Double] = [:]
        var histogram = [Double](repeating: 0, count: RealtimeKeys.latencyBounds.count + 1)
        for fields in perMinute.suffix(window) {
            requests += fields["requests"] ?? 0
            errors += fields["errors"] ?? 0
            for field in Self.cacheFields { cache[field, default: 0] += fields[field] ?? 0 }
            for index in histogram.indices { histogram[index] += fields["lat:\(index)"] ?? 0 }
        }
        let series: [JSONValue] = zip(minutes, perMinute).suffix(seriesMinutes).map { minute, fields in
            [
                "minute": .string(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(minute * 60)))),
                "requests": .int(Int64(fields["requests"] ?? 0)), "errors": .int(Int64(fields["errors"] ?? 0)),
                "tokens": .int(Int64((fields["prompt_tokens"] ?? 0) + (fields["completion_tokens"] ?? 0))),
                "cost": .double(fields["cost"] ?? 0), "cache_hits": .int(Int64(fields["cache_hits"] ?? 0)),
            ]
        }
        var models: [String: [String: JSONValue]] = [:]
        for (field, value) in today where field.hasPrefix("model:") {
            let rest = field.dropFirst("model:".count)
            guard let colon = rest.lastIndex(of: ":") else { continue }
            let name = String(rest[..<colon])
            let measure = String(rest[rest.index(after: colon)...])
            models[name, default: ["model": .string(name)]][measure] = measure == "cost" ? .double(value) : .int(Int64(value))
        }
        var providers: [JSONValue] = []
        if let health, !deployments.isEmpty {
            for (deployment, state) in zip(deployments, try await health.states(deployments)) {
                providers.append(["deployment": .string(deployment), "state": .string(state)])
            }
        }
        let elapsedInCurrent = now.timeIntervalSince1970 - Double(current * 60)
        let span = Double(window - 1) + max(elapsedInCurrent / 60, 1.0 / 60)
        return [
            "window_minutes": .int(Int64(window)),
            "requests_per_minute": .double(requests / span),
            "requests": .int(Int64(requests)),
            "error_rate": .double(requests > 0 ? errors / requests : 0),
            "active_keys": .int(activeKeys),
            "cache": Self.cacheJSON(cache),
            "latency_ms": [
                "p50": Self.percentile(histogram, 0.50).map(JSONValue.double) ?? .null,
                "p95": Self.percentile(histogram, 0.95).map(JSONValue.double) ?? .null,
                "p99": Self.percentile(histogram, 0.99).map(JSONValue.double) ?? .null,
            ],
            "today": [
                "requests": .int(Int64(today["requests"] ?? 0)), "errors": .int(Int64(today["errors"] ?? 0)),
                "prompt_tokens": .int(Int64(today["prompt_tokens"] ?? 0)),
                "completion_tokens": .int(Int64(today["completion_tokens"] ?? 0)),
                "cost": .double(today["cost"] ?? 0), "cache": Self.cacheJSON(today),
            ],
            "models": .array(models.keys.sorted().map { .object(models[$0] ?? [:]) }),
            "providers": .array(providers),
            "series": .array(series),
        ]
    }

    /// The hash fields of the response cache's figures.
    static let cacheFields = Array(RealtimeKeys.cacheFields.values) + ["cache_saved_usd"]

    /// The response cache's figures from summed hash fields: hits, misses, bypasses, the hit rate
    /// (hits over hits and misses: bypassed requests were never eligible; null without either) and
    /// the upstream cost the hits saved.
    static func cacheJSON(_ fields: [String: Double]) -> JSONValue {
        let hits = fields["cache_hits"] ?? 0
        let misses = fields["cache_misses"] ?? 0
        return [
            "hits": .int(Int64(hits)), "misses": .int(Int64(misses)),
            "bypasses": .int(Int64(fields["cache_bypasses"] ?? 0)),
            "hit_rate": hits + misses > 0 ? .double(hits / (hits + misses)) : .null,
            "saved_usd": .double(fields["cache_saved_usd"] ?? 0),
        ]
    }

    /// A hash reply as numbers.
    static func fields(_ reply: RedisValue) -> [String: Double] {
        guard let items = reply.array else { return [:] }
        var fields: [String: Double] = [:]
        var index = 0
        while index + 1 < items.count {
            if let name = items[index].string, let value = items[index + 1].string.flatMap(Double.init) { fields[name] = value }
            index += 2
        }
        return fields
    }

    /// The `quantile` latency in milliseconds from bucket counts, interpolated inside its bucket;
    /// nil without samples. The open last bucket reports its lower bound.
    static func percentile(_ histogram: [Double], _ quantile: Double) -> Double? {
        let total = histogram.reduce(0, +)
        guard total > 0 else { return nil }
        let target = quantile * total
        var seen = 0.0
        for (index, count) in histogram.enumerated() where count > 0 {
            if seen + count >= target {
                let bounds = RealtimeKeys.latencyBounds
                let lower = index == 0 ? 0 : bounds[index - 1]
                guard index < bounds.count else { return lower }
                return lower + (bounds[index] - lower) * ((target - seen) / count)
            }
            seen += count
        }
        return RealtimeKeys.latencyBounds.last
    }
}
