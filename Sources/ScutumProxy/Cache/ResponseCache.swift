import Crypto
import HTTPTypes
import Logging
import NIOCore
import ScutumCluster
import ScutumCore
import ScutumRedis

/// The response cache: exact-match answers in Redis, shared by every node, keyed by the normalized
/// request (the model as routed, fields that do not change the answer left out) and its scope.
///
/// Off by default; on by setting, per team or key (`metadata.cache`) or per model. A request with
/// `temperature` above 0 (unless the settings allow it), `n` above 1, or that asks for no caching
/// bypasses it. A cache Redis cannot answer is a miss, never an error; answers above the size
/// limit are not stored.
final class ResponseCache: Sendable {
    /// A request the cache applies to: where its answer is (or goes) and for how long.
    struct Plan: Sendable {
        var key: String
        var ttl: Duration
        var maxBytes: Int
    }

    /// What the cache does with a request.
    enum Decision: Sendable {
        /// Not on for this caller or model: no header, nothing counted.
        case off
        /// On, but this request may not use it (`x-scutum-cache: bypass`).
        case bypass
        case use(Plan)
    }

    let store: ResponseCacheStore
    let metrics: ProxyMetrics
    let realtime: RealtimeRecorder?
    let logger: Logger

    init(store: ResponseCacheStore, metrics: ProxyMetrics, realtime: RealtimeRecorder?, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.realtime = realtime
        self.logger = logger
    }

    /// The response header that says what the cache did.
    static let header = HTTPField.Name("x-scutum-cache")!

    /// Fields that do not change the answer, left out of the key.
    static let ignoredFields: Set<String> = [
        "stream", "stream_options", "user", "metadata", "cache", "store", "service_tier", "safety_identifier",
        "prompt_cache_key", "prompt_cache_retention",
    ]

    /// Whether the cache might apply to `principal`'s requests at all (cheap: read before anything
    /// else is computed, and by the direct lane).
    static func mayApply(to principal: Principal?, in snapshot: PlatformSnapshot) -> Bool {
        snapshot.responseCache.anyEnabled || snapshot.someTeamCaches || principal?.key?.metadata["cache"] != nil
    }

    /// What the cache does with a request of `kind` for `model` (as routed): `body` is read only
    /// when the cache applies.
    func decide(kind: String, model: String, body: @autoclosure () -> [String: JSONValue],
        principal: Principal?, snapshot: PlatformSnapshot, controls: CacheControls) -> Decision
    {
        guard Self.mayApply(to: principal, in: snapshot) else { return .off }
        let settings = snapshot.responseCache
        let key = principal?.key
        let own = key.flatMap { ResponseCacheSettings.Override(metadata: $0.metadata) }
        let team = key?.teamID.flatMap { snapshot.teams[$0]?.cache }
        let enabled = own?.enabled ?? team?.enabled ?? (settings.enabled || settings.models.contains(model))
        guard enabled else { return .off }
        let request = body()
        if controls.bypass { return .bypass }
        if let n = request["n"]?.intValue, n > 1 { return .bypass }
        if !settings.allowTemperature, let temperature = request["temperature"]?.doubleValue, temperature > 0 {
            return .bypass
        }
        let scope: ResponseCacheStore.Scope
        let keyScope = ResponseCacheStore.Scope.key(key?.id ?? "master")
        switch own?.scope ?? team?.scope ?? settings.scope {
        case .global: scope = .global
        case .team: scope = key?.teamID.map(ResponseCacheStore.Scope.team) ?? keyScope
        case .key: scope = keyScope
        }
        let seconds = min(controls.ttlSeconds ?? own?.ttlSeconds ?? team?.ttlSeconds ?? settings.ttlSeconds,
            settings.maxTTLSeconds)
        let hash = Self.fingerprint(kind: kind, model: model, body: request)
        return .use(Plan(key: store.key(scope: scope, model: model, hash: hash), ttl: .seconds(max(1, seconds)),
            maxBytes: settings.maxBytes))
    }

    /// SHA-256 (hex) of the request as the cache compares it: its kind, the routed model, and the
    /// body without `ignoredFields`, keys sorted.
    static func fingerprint(kind: String, model: String, body: [String: JSONValue]) -> String {
        var request = body.filter { !ignoredFields.contains($0.key) }
        request["model"] = .string(model)
        var hasher = SHA256()
        hasher.update(data: Array(kind.utf8) + [0x0A])
        JSONValue.object(request).jsonBytes.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in hasher.finalize() { text += [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]] }
        return String(decoding: text, as: UTF8.self)
    }

    /// What a front door does after consulting the cache.
    enum Consultation: Sendable {
        /// Answer with this (counted as a hit).
        case hit(CachedAnswer)
        /// Call the provider; store its answer under `plan` when there is one; send `header`.
        case proceed(plan: Plan?, header: HTTPFields)
    }

    /// Looks `decision` up and counts the outcome: a hit, a miss (with the plan to store the answer
    /// under), a bypass, or nothing when the cache is off.
    func consult(_ decision: Decision) async -> Consultation {
        switch decision {
        case .off:
            return .proceed(plan: nil, header: [:])
        case .bypass:
            count("bypass")
            return .proceed(plan: nil, header: [Self.header: "bypass"])
        case .use(let plan):
            if let hit = await lookup(plan) {
                count("hit", saved: hit.cost)
                return .hit(hit)
            }
            count("miss")
            return .proceed(plan: plan, header: [Self.header: "miss"])
        }
    }

    /// The cached answer, or nil (not there, unreadable, or Redis not answering: all misses).
    func lookup(_ plan: Plan) async -> CachedAnswer? {
        do {
            guard let bytes = try await store.get(plan.key) else { return nil }
            return CachedAnswer(decoding: bytes)
        } catch {
            logger.debug("response cache unavailable: a miss", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Stores `answer` in the background, unless it is larger than the plan allows.
    func store(_ answer: CachedAnswer, for plan: Plan) {
        let bytes = answer.encoded
        guard bytes.count <= plan.maxBytes else { return }
        let (store, metrics, logger) = (self.store, self.metrics, self.logger)
        Task {
            do {
                try await store.set(plan.key, bytes, ttl: plan.ttl)
                metrics.cacheStored(bytes: bytes.count)
            } catch {
                logger.debug("response cache unavailable: answer not stored", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Counts what the cache did with a request.
    func count(_ result: String, saved: Double = 0) {
        metrics.cache(result)
        if saved > 0 { metrics.cacheSaved(usd: saved) }
        realtime?.recordCache(outcome: result, savedCost: saved)
    }
}
