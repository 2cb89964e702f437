import Foundation
import Logging
import ScutumCluster
import ScutumCore
import ScutumRedis
import Synchronization

/// The proxy's rate limits: per key (RPM, TPM, parallel requests), global RPM and each deployment's
/// provider limits, cluster-wide through leased quotas (`QuotaLeases`): a request is admitted from
/// this node's leases without waiting on Redis, and only a lease that runs dry (or a limit near its
/// boundary, checked exactly) costs a round trip. When Redis cannot answer, each node enforces its
/// share (the limit divided by the live nodes) in memory, logs it once, and goes back to Redis by
/// itself on the next request that needs it.
public final class RateLimiting: Sendable {
    let leases: QuotaLeases
    let slots: ParallelSlots
    let registry: NodeRegistry?
    let local = LocalRateLimiter()
    let logger: Logger
    let metrics: ProxyMetrics?
    private let degraded = Atomic<Bool>(false)

    public init(leases: QuotaLeases, slots: ParallelSlots, registry: NodeRegistry?, metrics: ProxyMetrics? = nil,
        logger: Logger)
    {
        self.leases = leases
        self.slots = slots
        self.registry = registry
        self.metrics = metrics
        self.logger = logger
    }

    /// Whether the last check had to fall back to per-node limits.
    public var isDegraded: Bool { degraded.load(ordering: .relaxed) }

    /// What the limits took for one request, settled when it ends.
    struct Permit: Sendable {
        /// Units taken from the cluster's windows (token tickets are settled with the real count).
        var tickets: [QuotaLeases.Ticket]
        /// The key whose parallel slot the request holds.
        var parallel: String?
    }

    /// The limits for one request of `key` with an estimated `tokens`.
    static func limits(key: AuthenticatedKey?, snapshot: PlatformSnapshot, tokens: Int) -> [RateLimit] {
        var limits: [RateLimit] = []
        if snapshot.globalRateLimit > 0 {
            limits.append(RateLimit(LimitID(.global, .requests), limit: snapshot.globalRateLimit))
        }
        if let key {
            let rpm = key.rpmLimit ?? snapshot.defaultKeyRPM
            let tpm = key.tpmLimit ?? snapshot.defaultKeyTPM
            if rpm > 0 { limits.append(RateLimit(LimitID(.key(key.id), .requests), limit: rpm)) }
            if tpm > 0 { limits.append(RateLimit(LimitID(.key(key.id), .tokens), limit: tpm, cost: max(1, tokens))) }
        }
        return limits
    }

    /// A deployment's provider limits (`rpm`, `tpm` in the catalog) for a request of `tokens`.
    static func limits(deployment: ModelDeployment, tokens: Int) -> [RateLimit] {
        var limits: [RateLimit] = []
        if let rpm = deployment.rpm, rpm > 0 {
            limits.append(RateLimit(LimitID(.deployment(deployment.id), .requests), limit: rpm))
        }
        if let tpm = deployment.tpm, tpm > 0 {
            limits.append(RateLimit(LimitID(.deployment(deployment.id), .tokens), limit: tpm, cost: max(1, tokens)))
        }
        return limits
    }

    /// Takes the request's share of every limit, or throws the 429 the client gets.
    func admit(key: AuthenticatedKey?, snapshot: PlatformSnapshot, tokens: Int, requestID: String)
        async throws(GatewayError) -> Permit
    {
        let limits = Self.limits(key: key, snapshot: snapshot, tokens: tokens)
        var permit = Permit(tickets: [], parallel: nil)
        switch await take(limits, requestID: requestID) {
        case .taken(let tickets): permit.tickets = tickets
        case .refused(let refusal): throw refuse(refusal)
        }
        if let key, let maximum = key.maxParallelRequests {
            let name = "key:\(key.id)"
            var entered = slots.enter(name, limit: maximum)
            if entered == nil {
                do {
                    entered = try await slots.acquire(name, limit: maximum)
                } catch {
                    // Redis down: the rate limits above already hold per node; no slot is taken.
                    markRedis(available: false, error: error)
                }
            }
            if entered == false {
                settle(permit, tokens: 0)
                metrics?.rateLimited("parallel")
                throw Self.tooManyParallel(maximum)
            }
            if entered == true { permit.parallel = name }
        }
        return permit
    }

    /// Takes a request's share of a deployment's provider limits; nil when the deployment is at its
    /// limit, so routing moves on to the next one. Otherwise the tickets to settle when the call ends.
    func admit(deployment: ModelDeployment, tokens: Int, requestID: String) async -> [QuotaLeases.Ticket]? {
        let limits = Self.limits(deployment: deployment, tokens: tokens)
        guard !limits.isEmpty else { return [] }
        switch await take(limits, requestID: requestID) {
        case .taken(let tickets): return tickets
        case .refused: return nil
        }
    }

    /// The request's share of every limit from this node's leases alone, without waiting; nil (having
    /// taken nothing) when that needs Redis: a lease short, a limit near its boundary checked exactly,
    /// a parallel slot to ask the cluster for, or Redis down. `admit` then decides.
    func admitFromLeases(key: AuthenticatedKey?, snapshot: PlatformSnapshot, tokens: Int) -> Permit? {
        if degraded.load(ordering: .relaxed) { return nil }
        let limits = Self.limits(key: key, snapshot: snapshot, tokens: tokens)
        var permit = Permit(tickets: [], parallel: nil)
        if !limits.isEmpty {
            guard let tickets = leases.take(limits) else { return nil }
            permit.tickets = tickets
        }
        if let key, let maximum = key.maxParallelRequests {
            let name = "key:\(key.id)"
            guard slots.enter(name, limit: maximum) == true else {
                giveBack(permit)
                return nil
            }
            permit.parallel = name
        }
        return permit
    }

    /// A deployment's provider limits from this node's leases alone: the tickets ([] with no limits),
    /// or nil (nothing taken) when that needs Redis.
    func admitFromLeases(deployment: ModelDeployment, tokens: Int) -> [QuotaLeases.Ticket]? {
        let limits = Self.limits(deployment: deployment, tokens: tokens)
        guard !limits.isEmpty else { return [] }
        if degraded.load(ordering: .relaxed) { return nil }
        return leases.take(limits)
    }

    /// Undoes an admission whose request never started: units back to the leases, the slot freed.
    func giveBack(_ permit: Permit) {
        giveBack(permit.tickets)
        if let parallel = permit.parallel { slots.leave(parallel) }
    }

    /// Gives tickets back to their leases.
    func giveBack(_ tickets: [QuotaLeases.Ticket]) {
        for ticket in tickets { leases.give(back: ticket) }
    }

    enum Taken {
        case taken([QuotaLeases.Ticket])
        case refused(QuotaLeases.Refusal)
    }

    /// The leases first; then Redis exactly; then, with Redis down, this node's share.
    private func take(_ limits: [RateLimit], requestID: String) async -> Taken {
        guard !limits.isEmpty else { return .taken([]) }
        if let tickets = leases.take(limits) {
            // Leases are granted by Redis moments ago: it is answering again.
            if degraded.load(ordering: .relaxed) { markRedis(available: true) }
            return .taken(tickets)
        }
        do {
            let tickets = try await leases.acquire(limits)
            markRedis(available: true)
            return .taken(tickets)
        } catch let refusal as QuotaLeases.Refusal {
            markRedis(available: true)
            return .refused(refusal)
        } catch {
            markRedis(available: false, error: error)
            let share = max(1, registry?.liveNodes ?? 1)
            let localLimits = limits.map { limit in
                RateLimit(limit.id, limit: max(1, limit.limit / share), cost: limit.cost, window: limit.window)
            }
            let outcomes = local.acquire(localLimits, member: requestID)
            if let refused = outcomes.first(where: { !$0.allowed }) {
                return .refused(QuotaLeases.Refusal(refused: refused, outcomes: outcomes))
            }
            return .taken([])
        }
    }

    /// Settles a finished request: real token use replaces the estimate, the parallel slot is freed.
    func settle(_ permit: Permit, tokens: Int) {
        settle(permit.tickets, tokens: tokens)
        if let parallel = permit.parallel { slots.leave(parallel) }
    }

    /// Replaces reserved token estimates with what the call really used.
    func settle(_ tickets: [QuotaLeases.Ticket], tokens: Int) {
        for ticket in tickets where ticket.limit.id.unit == .tokens {
            leases.settle(ticket, actual: tokens)
        }
    }

    /// The 429 for a refused limit, counted in the metrics.
    private func refuse(_ refusal: QuotaLeases.Refusal) -> GatewayError {
        let id = refusal.refused.limit.id
        let kind: String =
            switch id.scope {
            case .global: "global_rpm"
            case .key, .deployment: id.unit == .tokens ? "key_tpm" : "key_rpm"
            }
        metrics?.rateLimited(kind)
        return Self.tooMany(refusal.refused, all: refusal.outcomes)
    }

    private func markRedis(available: Bool, error: (any Error)? = nil) {
        let changed = degraded.exchange(!available, ordering: .relaxed) == available
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
            let kind = outcome.limit.id.unit == .tokens ? "tokens" : "requests"
            let isKey = if case .key = outcome.limit.id.scope { true } else { false }
            guard isKey || headers["x-ratelimit-limit-\(kind)"] == nil else { continue }
            headers["x-ratelimit-limit-\(kind)"] = String(outcome.limit.limit)
            headers["x-ratelimit-remaining-\(kind)"] = String(outcome.remaining)
            headers["x-ratelimit-reset-\(kind)"] = "\(max(1, (outcome.retryAfterMilliseconds + 999) / 1000))s"
        }
        let scope =
            switch refused.limit.id.scope {
            case .global: "the gateway's global"
            case .key: "this API key's"
            case .deployment(let name): "the deployment '\(name)''s"
            }
        let unit = refused.limit.id.unit == .tokens ? "tokens" : "requests"
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
    private let windows = Mutex<[LimitID: [(at: ContinuousClock.Instant, cost: Int)]]>([:])

    func acquire(_ limits: [RateLimit], member: String, now: ContinuousClock.Instant = .now) -> [RateLimitOutcome] {
        windows.withLock { windows in
            var outcomes: [RateLimitOutcome] = []
            for limit in limits {
                let entries = (windows[limit.id] ?? []).filter { now - $0.at < limit.window }
                let used = entries.reduce(0) { $0 + $1.cost }
                if used + limit.cost > limit.limit {
                    let retry = entries.first.map { limit.window - (now - $0.at) } ?? limit.window
                    outcomes.append(RateLimitOutcome(limit: limit, allowed: false, used: used,
                        retryAfterMilliseconds: Int(retry.wholeMilliseconds)))
                } else {
                    outcomes.append(RateLimitOutcome(limit: limit, allowed: true, used: used + limit.cost,
                        retryAfterMilliseconds: 0))
                }
                windows[limit.id] = entries
            }
            if outcomes.allSatisfy(\.allowed) {
                for limit in limits { windows[limit.id, default: []].append((now, limit.cost)) }
            }
            return outcomes
        }
    }
}
