import Foundation
import Synchronization
import Logging
import ScutumCore
import ScutumProviders
import ScutumRedis

/// Resolves a model name to deployments (its pool, then its fallback chain) and calls them in order
/// until one answers.
///
/// What follows a failure is the model's `RetryPolicy` (the catalog's): by default a retry with
/// backoff and jitter for transient failures (timeouts, dropped connections, 5xx) before the next
/// deployment is tried. Deployments whose circuit breaker is open on the cluster, or that are at
/// their own rpm/tpm, are passed over. A request too long for a model's context window moves on to
/// larger-context models. Errors that are the client's (400) end the attempt at once. When a single
/// deployment fails, the client gets that failure's status; when several were tried and all failed,
/// a 503 naming each one and why.
struct Dispatcher: Sendable {
    let catalog: CatalogHolder
    let providers: ProviderRegistry
    let health: ProviderHealth?
    /// The breaker gauges, set again when the board changes.
    let breakerGauges = BreakerGauges()
    /// The routing strategy in force (from the operators' policies).
    let platform: PlatformState?
    /// What this node saw of each deployment, for the load-aware strategies. A successful call stays
    /// in progress until the caller reports it `ended`.
    let stats: DeploymentStats
    let metrics: ProxyMetrics
    let logger: Logger

    init(catalog: CatalogHolder, providers: ProviderRegistry, health: ProviderHealth? = nil,
        platform: PlatformState? = nil, stats: DeploymentStats = DeploymentStats(), metrics: ProxyMetrics = ProxyMetrics(),
        logger: Logger)
    {
        self.catalog = catalog
        self.providers = providers
        self.health = health
        self.platform = platform
        self.stats = stats
        self.metrics = metrics
        self.logger = logger
    }

    /// The deployments to try, in order: the model's own (a pool's ordered by the routing strategy
    /// within each priority, weighted shuffle when none is set), or a group's members ordered by the
    /// strategy; then the fallback chain, its pools ordered the same way.
    func targets(for model: String, mode: ModelMode) throws(GatewayError) -> [RoutableDeployment] {
        let catalog = self.catalog.current
        var targets = try catalog.resolveWithFallbacks(model, mode: mode)
        let rules = platform?.current.routing ?? RoutingRules()
        let strategy = rules.strategy ?? catalog.defaultStrategy
        if strategy != nil, let members = catalog.groups[model] {
            let memberSet = Set(members)
            let leading = targets.prefix { memberSet.contains($0.deployment.name) }
            targets.replaceSubrange(0..<leading.count, with: order(Array(leading), by: rules, strategy: strategy))
            return targets
        }
        guard targets.count > 1 else { return targets }
        // Pools: each run of one model's deployments, ordered within its priorities.
        var start = 0
        while start < targets.count {
            var end = start + 1
            while end < targets.count && targets[end].deployment.name == targets[start].deployment.name { end += 1 }
            if end - start > 1 {
                var tierStart = start
                while tierStart < end {
                    var tierEnd = tierStart + 1
                    while tierEnd < end && targets[tierEnd].deployment.priority == targets[tierStart].deployment.priority {
                        tierEnd += 1
                    }
                    if tierEnd - tierStart > 1 {
                        let tier = Array(targets[tierStart..<tierEnd])
                        targets.replaceSubrange(tierStart..<tierEnd,
                            with: order(tier, by: rules, strategy: strategy ?? .simpleShuffle))
                    }
                    tierStart = tierEnd
                }
            }
            start = end
        }
        return targets
    }

    private func order(_ targets: [RoutableDeployment], by rules: RoutingRules, strategy: RoutingRules.Strategy?)
        -> [RoutableDeployment]
    {
        var rules = rules
        rules.strategy = strategy
        let byID = Dictionary(targets.map { ($0.deployment.id, $0) }, uniquingKeysWith: { first, _ in first })
        let stats = self.stats
        return rules.order(targets.map(\.deployment), random: { Double.random(in: 0..<1) }, load: stats.load)
            .compactMap { byID[$0.id] }
    }

    /// `targets(for:mode:)` the caller may use (`allowed`: the deployments a key and its team may
    /// use, nil for all); 403 when none.
    func permittedTargets(for model: String, mode: ModelMode, allowed: Set<String>?) throws(GatewayError)
        -> [RoutableDeployment]
    {
        let targets = try targets(for: model, mode: mode)
        guard let allowed, !allowed.contains(model) else { return targets }
        let permitted = targets.filter { allowed.contains($0.deployment.name) }
        guard !permitted.isEmpty else {
            throw GatewayError(status: 403, message: "This API key is not allowed to use the model '\(model)'.",
                type: "permission_error", param: "model", code: "model_not_allowed")
        }
        return permitted
    }

    /// A first call the direct lane made (admitted, counted as started in `stats`) and how it failed.
    struct FirstFailure: Sendable {
        var deployment: String
        var error: ProviderError
    }

    /// Calls `operation` on each target in turn, as each model's retry policy says; returns the first
    /// success and who served it. With `firstFailure`, the first attempt on that deployment already
    /// happened and failed so: it goes on from there (a retry, then the next deployment), as if it had
    /// made that call itself.
    func dispatch<Result>(
        _ model: String, mode: ModelMode, allowed: Set<String>? = nil,
        admitDeployment: (@Sendable (ModelDeployment) async -> Bool)? = nil,
        after firstFailure: FirstFailure? = nil,
        _ operation: (any ProviderAdapter, RoutableDeployment) async throws(ProviderError) -> Result
    ) async throws(GatewayError) -> (Result, RoutableDeployment) {
        var seeded = firstFailure
        var targets = try permittedTargets(for: model, mode: mode, allowed: allowed)
        if let firstFailure, let index = targets.firstIndex(where: { $0.deployment.id == firstFailure.deployment }),
            index > 0
        {
            // The lane's call was the first attempt: the order it chose stands.
            targets.insert(targets.remove(at: index), at: 0)
        }
        let admissions: [ProviderHealth.Admission]
        if let known = knownAdmissions(for: targets) {
            admissions = known
        } else {
            admissions = await self.admissions(for: targets)
        }
        let catalog = self.catalog.current
        var failures: [(String, ProviderError)] = []
        var minimumContext: Int?
        /// Models whose remaining deployments are skipped (a `fallback` action).
        var skippedModels: Set<String> = []
        for (target, admission) in zip(targets, admissions) {
            if Task.isCancelled { throw GatewayError.cancelled }
            let id = target.deployment.id
            if skippedModels.contains(target.deployment.name) { continue }
            if admission == .open {
                failures.append((id, ProviderError(.status(503), Self.coolingDown + " (cooling down)")))
                continue
            }
            if let minimumContext, (target.deployment.contextWindow ?? 0) <= minimumContext { continue }
            let alreadyCalled = seeded?.deployment == id
            if !alreadyCalled, let admitDeployment, await !admitDeployment(target.deployment) {
                metrics.rateLimited("deployment")
                failures.append((id, ProviderError(.status(429),
                    "its provider limit (rpm/tpm in the catalog) is reached", retryAfter: "1")))
                continue
            }
            guard let adapter = providers.adapter(for: target.deployment.provider) else {
                failures.append((id, ProviderError(.status(501), "no adapter for \(target.deployment.provider)")))
                continue
            }
            let policy = catalog.retryPolicy(for: target.deployment.name)
            var attempt = 0
            while true {
                let began = ContinuousClock.now
                do throws(ProviderError) {
                    if let failure = seeded, failure.deployment == id {
                        seeded = nil
                        throw failure.error
                    }
                    stats.started(id)
                    let result = try await Self.attempt(within: policy.attemptTimeout) { () async throws(ProviderError) in
                        try await operation(adapter, target)
                    }
                    let latency = ContinuousClock.now - began
                    stats.answered(id, after: latency)
                    metrics.latency(id, latency)
                    if admission == .probe {
                        try? await health?.recordProbeSuccess(id)
                        metrics.breaker(id, .closed)
                    }
                    if let first = targets.first?.deployment.id, first != id { metrics.fallback(from: first, to: id) }
                    return (result, target)
                } catch {
                    stats.ended(id, tokens: 0)
                    // The caller went away (client disconnected, node stopping): no retry, no fallback,
                    // and nothing held against the provider.
                    if Task.isCancelled { throw GatewayError.cancelled }
                    let name = target.deployment.name
                    metrics.providerFailure(id, status: error.gatewayError(model: name).code ?? "error")
                    let errorClass = Self.classify(error)
                    logger.warning("provider call failed", metadata: [
                        "model": "\(name)", "deployment": "\(id)", "provider": "\(target.deployment.provider.rawValue)",
                        "attempt": "\(attempt + 1)", "error": "\(error.message)", "class": "\(errorClass.rawValue)",
                    ])
                    if Self.countsAgainstHealth(error) {
                        if (try? await health?.recordFailure(id, probing: admission == .probe)) == true {
                            metrics.breaker(id, .open)
                        }
                    }
                    var action = policy.action(for: errorClass)
                    if action == .retry {
                        if attempt < policy.retries && admission != .probe {
                            attempt += 1
                            try? await Task.sleep(for: policy.pause(beforeRetry: attempt))
                            continue
                        }
                        action = .nextDeployment
                    }
                    switch action {
                    case .fail:
                        if failures.isEmpty { throw error.gatewayError(model: name) }
                        failures.append((id, error))
                        throw Self.allFailed(model, failures)
                    case .fallback:
                        skippedModels.insert(name)
                        if errorClass == .contextWindow {
                            // Only a model with a larger window can take this request.
                            minimumContext = max(minimumContext ?? 0, target.deployment.contextWindow ?? 0)
                        }
                    case .nextDeployment, .retry:
                        break
                    }
                    failures.append((id, error))
                    break
                }
            }
        }
        if failures.count == 1, let (id, error) = failures.first {
            if error.message.hasPrefix(Self.coolingDown) {
                // Not the provider's answer: nothing was called, so it is unavailable, not failing.
                var unavailable = GatewayError.noDeployment(
                    "'\(id)' is cooling down after repeated provider failures and has no fallback; retry shortly.")
                unavailable.headers["Retry-After"] = "5"
                throw unavailable
            }
            throw error.gatewayError(model: targets.first { $0.deployment.id == id }?.deployment.name ?? model)
        }
        throw Self.allFailed(model, failures)
    }

    /// Runs one attempt, failing it with a timeout when `limit` passes first (nil: no limit beyond the
    /// HTTP client's own).
    static func attempt<Result>(within limit: Duration?,
        _ operation: () async throws(ProviderError) -> Result) async throws(ProviderError) -> Result
    {
        guard let limit else { return try await operation() }
        do {
            return try await UpstreamHTTP.$attemptTimeout.withValue(limit) { try await operation() }
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError(.connection, "\(error)")
        }
    }

    /// The class of a failure, for the retry policy.
    static func classify(_ error: ProviderError) -> RetryPolicy.ErrorClass {
        if isContextWindowError(error) { return .contextWindow }
        if isContentPolicyError(error) { return .contentPolicy }
        switch error.kind {
        case .timeout: return .timeout
        case .connection: return .connection
        case .malformed: return .malformed
        case .invalidRequest: return .badRequest
        case .status(429): return .rateLimit
        case .status(401), .status(403): return .authentication
        case .status(404): return .notFound
        case .status(let status) where status >= 500: return .serverError
        case .status: return .badRequest
        }
    }

    /// Each target's breaker as this node's board holds it (pushed from the cluster, see
    /// `BreakerSync`), read without a round trip; nil when one is half-open and Redis must say who
    /// probes it (`admissions(for:)`).
    func knownAdmissions(for targets: [RoutableDeployment]) -> [ProviderHealth.Admission]? {
        guard let health else { return targets.map { _ in .closed } }
        let readings = health.board.read(targets.map(\.deployment.id))
        breakerGauges.refresh(from: health.board, metrics: metrics)
        if readings.contains(.halfOpen) { return nil }
        return readings.map { $0 == .open ? .open : .closed }
    }

    /// The admissions when a target is half-open: Redis hands its single probe to one caller in the
    /// cluster. All closed when Redis cannot say (never fail a request over it).
    func admissions(for targets: [RoutableDeployment]) async -> [ProviderHealth.Admission] {
        guard let health else { return targets.map { _ in .closed } }
        let names = targets.map(\.deployment.id)
        let readings = health.board.read(names)
        let halfOpen = zip(names, readings).filter { $0.1 == .halfOpen }.map(\.0)
        do {
            let answers = Dictionary(zip(halfOpen, try await health.admitHalfOpen(halfOpen)),
                uniquingKeysWith: { first, _ in first })
            for (name, answer) in answers { metrics.breaker(name, answer) }
            return zip(names, readings).map { name, reading in answers[name] ?? (reading == .open ? .open : .closed) }
        } catch {
            logger.debug("provider health unavailable", metadata: ["error": "\(error)"])
            return readings.map { $0 == .open ? .open : .closed }
        }
    }

    static let coolingDown = "skipped: its circuit breaker is open"

    static func allFailed(_ model: String, _ failures: [(String, ProviderError)]) -> GatewayError {
        let tried = failures.map { "\($0.0) (\($0.1.gatewayError(model: $0.0).code ?? "error"): \($0.1.message))" }
        // Every provider in the chain is rate limiting: that is a 429 to retry later, not an outage.
        if failures.allSatisfy({ $0.1.kind == .status(429) }) {
            let waits = failures.compactMap { $0.1.retryAfter.flatMap(Int.init) }
            return GatewayError(status: 429,
                message: "Every deployment for '\(model)' is rate limiting. Tried, in order: \(tried.joined(separator: "; ")).",
                type: "rate_limit_error", code: "upstream_rate_limited",
                headers: ["Retry-After": String(waits.min() ?? 1)])
        }
        return GatewayError.noDeployment(
            "Every deployment for '\(model)' failed. Tried, in order: \(tried.joined(separator: "; ")).")
    }

    /// Failures that say the provider is unhealthy (not the caller's request, not its own rate limit).
    static func countsAgainstHealth(_ error: ProviderError) -> Bool {
        switch error.kind {
        case .timeout, .connection, .malformed: true
        case .status(let status): status >= 500
        default: false
        }
    }

    /// The provider said the prompt does not fit the model's context window.
    static func isContextWindowError(_ error: ProviderError) -> Bool {
        guard case .status(let status) = error.kind, status == 400 || status == 413 else { return false }
        let text = error.message.lowercased()
        return text.contains("context length") || text.contains("context window") || text.contains("maximum context")
            || text.contains("too many tokens") || text.contains("prompt is too long")
    }

    /// The provider refused the content under its safety or content policy (OpenAI's and Azure's
    /// `content_filter`/`content_policy_violation`, Gemini's and Bedrock's safety blocks).
    static func isContentPolicyError(_ error: ProviderError) -> Bool {
        guard case .status(let status) = error.kind, status == 400 || status == 422 else { return false }
        let text = error.message.lowercased()
        return text.contains("content_policy") || text.contains("content policy") || text.contains("content_filter")
            || text.contains("content management policy") || text.contains("safety")
    }
}

/// Sets the breaker gauges from the board when it has changed since they were last set.
final class BreakerGauges: Sendable {
    private let seen = Atomic<UInt64>(0)

    func refresh(from board: BreakerBoard, metrics: ProxyMetrics) {
        let version = board.version
        guard seen.exchange(version, ordering: .acquiringAndReleasing) != version else { return }
        for (name, reading) in board.readings() {
            let admission: ProviderHealth.Admission = switch reading {
            case .closed: .closed
            case .open: .open
            case .halfOpen: .probe
            }
            metrics.breaker(name, admission)
        }
    }
}
