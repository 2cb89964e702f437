import Foundation
import Synchronization
import Logging
import ScutumCore
import ScutumProviders
import ScutumRedis

/// Resolves a model name to deployments (its own, then its fallback chain) and calls them in order
/// until one answers.
///
/// Each deployment gets a retry with backoff and jitter for transient failures (timeouts, dropped
/// connections, 5xx) before the next one is tried. Deployments whose circuit breaker is open on the
/// cluster are skipped; failures and successful probes feed the breaker. A request too long for a
/// model's context window moves on to larger-context models. Errors that are the client's (400)
/// end the attempt at once. When a single deployment fails, the client gets that failure's status;
/// when several were tried and all failed, a 503 naming each one and why.
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
    let retries: Int
    let logger: Logger

    init(catalog: CatalogHolder, providers: ProviderRegistry, health: ProviderHealth? = nil,
        platform: PlatformState? = nil, stats: DeploymentStats = DeploymentStats(), metrics: ProxyMetrics = ProxyMetrics(),
        retries: Int = 1, logger: Logger)
    {
        self.catalog = catalog
        self.providers = providers
        self.health = health
        self.platform = platform
        self.stats = stats
        self.metrics = metrics
        self.retries = retries
        self.logger = logger
    }

    /// The deployments to try, in order: a group's members ordered by the routing strategy, then
    /// the fallback chain.
    func targets(for model: String, mode: ModelMode) throws(GatewayError) -> [RoutableDeployment] {
        let catalog = self.catalog.current
        var targets = try catalog.resolveWithFallbacks(model, mode: mode)
        guard let rules = platform?.current.routing, rules.strategy != nil, let members = catalog.groups[model] else {
            return targets
        }
        let memberSet = Set(members)
        let leading = targets.prefix { memberSet.contains($0.deployment.name) }
        let byName = Dictionary(leading.map { ($0.deployment.name, $0) }, uniquingKeysWith: { first, _ in first })
        let stats = self.stats
        let ordered = rules.order(leading.map(\.deployment), random: { Double.random(in: 0..<1) }, load: stats.load)
            .compactMap { byName[$0.name] }
        targets.replaceSubrange(0..<leading.count, with: ordered)
        return targets
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

    /// Calls `operation` on each target in turn; returns the first success and who served it. With
    /// `firstFailure`, the first attempt on that deployment already happened and failed so: it goes on
    /// from there (a retry, then the next deployment), as if it had made that call itself.
    func dispatch<Result>(
        _ model: String, mode: ModelMode, allowed: Set<String>? = nil,
        admitDeployment: (@Sendable (ModelDeployment) async -> Bool)? = nil,
        after firstFailure: FirstFailure? = nil,
        _ operation: (any ProviderAdapter, RoutableDeployment) async throws(ProviderError) -> Result
    ) async throws(GatewayError) -> (Result, RoutableDeployment) {
        var seeded = firstFailure
        let targets = try permittedTargets(for: model, mode: mode, allowed: allowed)
        let admissions: [ProviderHealth.Admission]
        if let known = knownAdmissions(for: targets) {
            admissions = known
        } else {
            admissions = await self.admissions(for: targets)
        }
        var failures: [(String, ProviderError)] = []
        var minimumContext: Int?
        for (target, admission) in zip(targets, admissions) {
            if Task.isCancelled { throw GatewayError.cancelled }
            let name = target.deployment.name
            if admission == .open {
                failures.append((name, ProviderError(.status(503), Self.coolingDown + " (cooling down)")))
                continue
            }
            if let minimumContext, (target.deployment.contextWindow ?? 0) <= minimumContext { continue }
            let alreadyCalled = seeded?.deployment == name
            if !alreadyCalled, let admitDeployment, await !admitDeployment(target.deployment) {
                metrics.rateLimited("deployment")
                failures.append((name, ProviderError(.status(429),
                    "its provider limit (rpm/tpm in the catalog) is reached", retryAfter: "1")))
                continue
            }
            guard let adapter = providers.adapter(for: target.deployment.provider) else {
                failures.append((name, ProviderError(.status(501), "no adapter for \(target.deployment.provider)")))
                continue
            }
            var attempt = 0
            while true {
                let began = ContinuousClock.now
                do throws(ProviderError) {
                    if let failure = seeded, failure.deployment == name {
                        seeded = nil
                        throw failure.error
                    }
                    stats.started(name)
                    let result = try await operation(adapter, target)
                    let latency = ContinuousClock.now - began
                    stats.answered(name, after: latency)
                    metrics.latency(name, latency)
                    if admission == .probe {
                        try? await health?.recordProbeSuccess(name)
                        metrics.breaker(name, .closed)
                    }
                    if let first = targets.first?.deployment.name, first != name { metrics.fallback(from: first, to: name) }
                    return (result, target)
                } catch {
                    stats.ended(name, tokens: 0)
                    // The caller went away (client disconnected, node stopping): no retry, no fallback,
                    // and nothing held against the provider.
                    if Task.isCancelled { throw GatewayError.cancelled }
                    metrics.providerFailure(name, status: error.gatewayError(model: name).code ?? "error")
                    logger.warning("provider call failed", metadata: [
                        "model": "\(name)", "provider": "\(target.deployment.provider.rawValue)",
                        "attempt": "\(attempt + 1)", "error": "\(error.message)",
                    ])
                    if Self.isContextWindowError(error) {
                        // Only a model with a larger window can take this request.
                        minimumContext = max(minimumContext ?? 0, target.deployment.contextWindow ?? 0)
                        failures.append((name, error))
                        break
                    }
                    if !error.isRetryable {
                        if failures.isEmpty { throw error.gatewayError(model: name) }
                        failures.append((name, error))
                        throw Self.allFailed(model, failures)
                    }
                    if Self.countsAgainstHealth(error) {
                        if (try? await health?.recordFailure(name, probing: admission == .probe)) == true {
                            metrics.breaker(name, .open)
                        }
                    }
                    if attempt < retries && Self.isTransient(error) && admission != .probe {
                        attempt += 1
                        try? await Task.sleep(for: Self.backoff(attempt: attempt))
                        continue
                    }
                    failures.append((name, error))
                    break
                }
            }
        }
        if failures.count == 1, let (name, error) = failures.first {
            if error.message.hasPrefix(Self.coolingDown) {
                // Not the provider's answer: nothing was called, so it is unavailable, not failing.
                var unavailable = GatewayError.noDeployment(
                    "'\(name)' is cooling down after repeated provider failures and has no fallback; retry shortly.")
                unavailable.headers["Retry-After"] = "5"
                throw unavailable
            }
            throw error.gatewayError(model: name)
        }
        throw Self.allFailed(model, failures)
    }

    /// Each target's breaker as this node's board holds it (pushed from the cluster, see
    /// `BreakerSync`), read without a round trip; nil when one is half-open and Redis must say who
    /// probes it (`admissions(for:)`).
    func knownAdmissions(for targets: [RoutableDeployment]) -> [ProviderHealth.Admission]? {
        guard let health else { return targets.map { _ in .closed } }
        let readings = health.board.read(targets.map(\.deployment.name))
        breakerGauges.refresh(from: health.board, metrics: metrics)
        if readings.contains(.halfOpen) { return nil }
        return readings.map { $0 == .open ? .open : .closed }
    }

    /// The admissions when a target is half-open: Redis hands its single probe to one caller in the
    /// cluster. All closed when Redis cannot say (never fail a request over it).
    func admissions(for targets: [RoutableDeployment]) async -> [ProviderHealth.Admission] {
        guard let health else { return targets.map { _ in .closed } }
        let names = targets.map(\.deployment.name)
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

    /// Worth trying the same deployment again after a short pause.
    static func isTransient(_ error: ProviderError) -> Bool {
        switch error.kind {
        case .timeout, .connection: true
        case .status(let status): status >= 500
        default: false
        }
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

    /// 100 ms, 200 ms, 400 ms... with ±50% jitter, so nodes do not retry in step.
    static func backoff(attempt: Int) -> Duration {
        let base = 100.0 * pow(2.0, Double(attempt - 1))
        return .milliseconds(Int64(base * Double.random(in: 0.5...1.5)))
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
