import Foundation
import Logging
import ScutumCluster
import ScutumCore
import ScutumRedis
import Synchronization

/// The proxy's rate limits: per key (RPM, TPM, parallel requests) and global RPM, cluster-wide in
/// Redis. When Redis cannot answer, each node enforces its share (the limit divided by the live
/// nodes) in memory, logs it once, and goes back to Redis by itself on the next request.
public final class RateLimiting: Sendable {
    let limiter: RateLimiter
    let registry: NodeRegistry?
    let local = LocalRateLimiter()
    let logger: Logger
    let metrics: ProxyMetrics?
    private let degraded = Mutex(false)

    public init(limiter: RateLimiter, registry: NodeRegistry?, metrics: ProxyMetrics? = nil, logger: Logger) {
        self.limiter = limiter
        self.registry = registry
        self.metrics = metrics
        self.logger = logger
    }

    /// Whether the last check had to fall back to per-node limits.
    public var isDegraded: Bool { degraded.withLock { $0 } }

    /// A request admitted by the limits, to settle when it ends.
    struct Permit: Sendable {
        let member: String
        let tokenLimits: [RateLimit]
        let parallel: String?
    }

    /// The limits for one request of `key` with an estimated `tokens`.
    static func limits(key: AuthenticatedKey?, snapshot: PlatformSnapshot, tokens: Int) -> [RateLimit] {
        var limits: [RateLimit] = []
        if snapshot.globalRateLimit > 0 {
            limits.append(RateLimit(name: "global:rpm", limit: snapshot.globalRateLimit))
        }
        if let key {
            let rpm = key.rpmLimit ?? snapshot.defaultKeyRPM
            let tpm = key.tpmLimit ?? snapshot.defaultKeyTPM
            if rpm > 0 { limits.append(RateLimit(name: "key:\(key.id):rpm", limit: rpm)) }
            if tpm > 0 { limits.append(RateLimit(name: "key:\(key.id):tpm", limit: tpm, cost: max(1, tokens))) }
        }
        return limits
    }

    /// Takes the request's share of every limit, or throws the 429 the client gets.
    func admit(key: AuthenticatedKey?, snapshot: PlatformSnapshot, tokens: Int, requestID: String)
        async throws(GatewayError) -> Permit
    {
        let limits = Self.limits(key: key, snapshot: snapshot, tokens: tokens)
        let tokenLimits = limits.filter { $0.name.hasSuffix(":tpm") }
        var parallel: String?
        var usedLocal = false
        do {
            let outcomes = try await limiter.acquire(limits, member: requestID)
            markRedis(available: true)
            if let refused = outcomes.first(where: { !$0.allowed }) { throw refuse(refused, all: outcomes) }
            if let key, let maximum = key.maxParallelRequests {
                guard try await limiter.enter("key:\(key.id)", limit: maximum) else {
                    try? await limiter.reconcile(tokenLimits, member: requestID, actual: 0)
                    metrics?.rateLimited("parallel")
                    throw Self.tooManyParallel(maximum)
                }
                parallel = "key:\(key.id)"
            }
        } catch let error as GatewayError {
            throw error
        } catch {
            markRedis(available: false, error: error)
            usedLocal = true
            let share = max(1, registry?.liveNodes ?? 1)
            let localLimits = limits.map { limit in
                RateLimit(name: limit.name, limit: max(1, limit.limit / share), cost: limit.cost, window: limit.window)
            }
            let outcomes = local.acquire(localLimits, member: requestID)
            if let refused = outcomes.first(where: { !$0.allowed }) { throw refuse(refused, all: outcomes) }
        }
        return Permit(member: requestID, tokenLimits: usedLocal ? [] : tokenLimits, parallel: parallel)
    }

    /// Takes a request's share of a deployment's provider limits (`rpm`, `tpm` in the catalog);
    /// nil when the deployment is at its limit, so routing moves on to the next one. Otherwise the
    /// token limits reserved in Redis, to settle with `settle(_:member:tokens:)` when the call ends.
    func admit(deployment: ModelDeployment, tokens: Int, requestID: String) async -> [RateLimit]? {
        var limits: [RateLimit] = []
        if let rpm = deployment.rpm, rpm > 0 { limits.append(RateLimit(name: "model:\(deployment.name):rpm", limit: rpm)) }
        if let tpm = deployment.tpm, tpm > 0 {
            limits.append(RateLimit(name: "model:\(deployment.name):tpm", limit: tpm, cost: max(1, tokens)))
        }
        guard !limits.isEmpty else { return [] }
        do {
            let outcomes = try await limiter.acquire(limits, member: requestID)
            markRedis(available: true)
            return outcomes.allSatisfy(\.allowed) ? limits.filter { $0.name.hasSuffix(":tpm") } : nil
        } catch {
            markRedis(available: false, error: error)
            let share = max(1, registry?.liveNodes ?? 1)
            let localLimits = limits.map { RateLimit(name: $0.name, limit: max(1, $0.limit / share), cost: $0.cost) }
            return local.acquire(localLimits, member: requestID).allSatisfy(\.allowed) ? [] : nil
        }
    }

    /// Settles a finished request: real token use replaces the estimate, the parallel slot is freed.
    func settle(_ permit: Permit, tokens: Int?) async {
        if let tokens, !permit.tokenLimits.isEmpty {
            try? await limiter.reconcile(permit.tokenLimits, member: permit.member, actual: tokens)
        }
        if let parallel = permit.parallel { try? await limiter.leave(parallel) }
    }

    /// Replaces a deployment's reserved token estimate with what the call really used.
    func settle(deployment limits: [RateLimit], member: String, tokens: Int) async {
        guard !limits.isEmpty else { return }
        try? await limiter.reconcile(limits, member: member, actual: tokens)
    }

    /// The 429 for a refused limit, counted in the metrics.
    private func refuse(_ refused: RateLimitOutcome, all: [RateLimitOutcome]) -> GatewayError {
        let name = refused.limit.name
        metrics?.rateLimited(name.hasPrefix("global") ? "global_rpm" : name.hasSuffix(":tpm") ? "key_tpm" : "key_rpm")
        return Self.tooMany(refused, all: all)
    }

    private func markRedis(available: Bool, error: (any Error)? = nil) {
        let changed = degraded.withLock { state -> Bool in
            defer { state = !available }
            return state == available
        }
        if changed {
            metrics?.redisDegraded(!available)
            if available {
                logger.notice("rate limits back on Redis (cluster-wide)")
            } else {
                logger.warning("Redis unavailable: enforcing per-node rate limits (limit / live nodes)",
                    metadata: ["error": "\(error.map { "\($0)" } ?? "")"])
            }
        }
    }

    static func tooMany(_ refused: RateLimitOutcome, all: [RateLimitOutcome]) -> GatewayError {
        let seconds = max(1, (refused.retryAfterMilliseconds + 999) / 1000)
        var headers: [String: String] = ["Retry-After": String(seconds)]
        for outcome in all {
            let kind = outcome.limit.name.hasSuffix(":tpm") ? "tokens" : "requests"
            guard outcome.limit.name.hasPrefix("key:") || headers["x-ratelimit-limit-\(kind)"] == nil else { continue }
            headers["x-ratelimit-limit-\(kind)"] = String(outcome.limit.limit)
            headers["x-ratelimit-remaining-\(kind)"] = String(outcome.remaining)
            headers["x-ratelimit-reset-\(kind)"] = "\(max(1, (outcome.retryAfterMilliseconds + 999) / 1000))s"
        }
        let scope = refused.limit.name.hasPrefix("global") ? "the gateway's global" : "this API key's"
        let unit = refused.limit.name.hasSuffix(":tpm") ? "tokens" : "requests"
        return GatewayError(status: 429,
            message: "Rate limit reached: \(scope) limit of \(refused.limit.limit) \(unit) per minute. Retry after \(seconds) s.",
            type: "rate_limit_error", code: "rate_limit_exceeded", headers: headers)
    }

    static func tooManyParallel(_ maximum: Int) -> GatewayError {
        GatewayError(status: 429, message: "This API key already has \(maximum) requests in progress (max_parallel_requests).",
            type: "rate_limit_error", code: "too_many_parallel_requests", headers: ["Retry-After": "1"])
    }
}

/// The in-memory sliding windows used while Redis is down; one per node.
final class LocalRateLimiter: Sendable {
    private let windows = Mutex<[String: [(at: ContinuousClock.Instant, cost: Int)]]>([:])

    func acquire(_ limits: [RateLimit], member: String, now: ContinuousClock.Instant = .now) -> [RateLimitOutcome] {
        windows.withLock { windows in
            var outcomes: [RateLimitOutcome] = []
            for limit in limits {
                let entries = (windows[limit.name] ?? []).filter { now - $0.at < limit.window }
                let used = entries.reduce(0) { $0 + $1.cost }
                if used + limit.cost > limit.limit {
                    let retry = entries.first.map { limit.window - (now - $0.at) } ?? limit.window
                    outcomes.append(RateLimitOutcome(limit: limit, allowed: false, used: used,
                        retryAfterMilliseconds: RateLimiter.millisecondsPublic(retry)))
                } else {
                    outcomes.append(RateLimitOutcome(limit: limit, allowed: true, used: used + limit.cost,
                        retryAfterMilliseconds: 0))
                }
                windows[limit.name] = entries
            }
            if outcomes.allSatisfy(\.allowed) {
                for limit in limits { windows[limit.name, default: []].append((now, limit.cost)) }
            }
            return outcomes
        }
    }
}
