import Foundation
import HTTPTypes
import ScutumCluster
import ScutumCore
import ScutumProviders
import ScutumRedis
import Synchronization

/// One request's bookkeeping from admission to settlement: what admission took, the provider calls'
/// time and spans, and `finish`, the one place a request is settled (metrics, realtime figures, token
/// limits, spend), whatever the outcome.
struct RequestLedger: Sendable {
    let accounting: Accounting?
    let admission: Accounting.Admission?
    let principal: Principal?
    let model: String
    let stream: Bool
    let started: ContinuousClock.Instant
    let requestID: String
    let estimatedTokens: Int
    let dispatcher: Dispatcher
    /// The requested model's metric series (or `unknown`'s).
    let series: ProxyMetrics.ModelSeries
    /// The front door the request came in by (a `FrontDoor` name), for its spend row.
    let endpoint: String?
    /// That front door's request counters; nil when it has none.
    let endpointRequests: ProxyMetrics.RequestCounters?
    let realtime: RealtimeRecorder?
    /// The provider calls' trace spans; nil when tracing is off.
    let trace: UpstreamTrace?
    /// Time spent waiting for providers, to tell the gateway's own share (`overhead`).
    let upstream = UpstreamTime()
    /// Token estimates reserved against deployments' provider limits, settled in `finish`.
    let reservations = Reservations()

    final class Reservations: Sendable {
        let taken = Mutex<[(deployment: String, tickets: [QuotaLeases.Ticket])]>([])
    }

    /// The sum of provider calls' durations.
    final class UpstreamTime: Sendable {
        let total = Mutex(Duration.zero)

        /// Adds a provider call's duration (one the direct lane timed).
        func add(_ duration: Duration) {
            total.withLock { $0 += duration }
        }

        /// Runs a provider call, adding its duration.
        func timing<T>(_ call: () async throws(ProviderError) -> T) async throws(ProviderError) -> T {
            let start = ContinuousClock.now
            defer { total.withLock { $0 += ContinuousClock.now - start } }
            return try await call()
        }
    }

    /// Runs one provider call for this request, timed and traced.
    func call<T>(_ operation: UpstreamTrace.Operation, request: @autoclosure () -> [String: JSONValue],
        on target: RoutableDeployment, _ body: () async throws(ProviderError) -> T) async throws(ProviderError) -> T
    {
        try await upstream.timing { () async throws(ProviderError) in
            guard let trace else { return try await body() }
            return try await trace.call(operation, model: model, request: request(), on: target, requestID: requestID,
                body)
        }
    }

    /// The gateway's own time so far: since the request arrived, minus provider calls.
    var overhead: Duration { ContinuousClock.now - started - upstream.total.withLock { $0 } }

    /// `x-scutum-overhead-ms` for a response, recording the figure in the metrics.
    func overheadHeader() -> HTTPFields {
        let overhead = self.overhead
        dispatcher.metrics.overhead(overhead)
        return [Self.overheadField: Self.milliseconds(overhead)]
    }

    /// A duration in milliseconds with three decimals ("0.042"), rounded to the microsecond.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, seconds * 1_000_000 + (attoseconds + 500_000_000_000) / 1_000_000_000_000)
        let fraction = micros % 1000
        let padding = fraction < 10 ? "00" : fraction < 100 ? "0" : ""
        return "\(micros / 1000).\(padding)\(fraction)"
    }

    static let overheadField = HTTPField.Name("x-scutum-overhead-ms")!

    /// Checks a deployment's provider limits for this request (nil: no limits configured).
    var admitDeployment: (@Sendable (ModelDeployment) async -> Bool)? {
        guard let rateLimiting = accounting?.rateLimiting else { return nil }
        let (tokens, requestID, reservations) = (estimatedTokens, self.requestID, self.reservations)
        return { deployment in
            guard let tickets = await rateLimiting.admit(deployment: deployment, tokens: tokens, requestID: requestID)
            else { return false }
            if !tickets.isEmpty { reservations.taken.withLock { $0.append((deployment.id, tickets)) } }
            return true
        }
    }

    /// Who and what this request's guardrail events are about.
    var guardrailSubject: GuardrailGate.Subject {
        let key = principal?.key
        return GuardrailGate.Subject(requestID: requestID, keyID: key?.id, teamID: key?.teamID, model: model)
    }

    /// Settles the request: counters, metrics, rate-limit reservations and its spend row. `hit`: it
    /// was answered from the response cache (cost 0, the answer's original cost recorded as saved).
    func finish(status: Int, target: RoutableDeployment?, usage: TokenUsage?, hit: CachedAnswer? = nil) {
        let tokens = usage.map { $0.promptTokens + $0.completionTokens } ?? 0
        if let target { dispatcher.stats.ended(target.deployment.id, tokens: tokens) }
        series.request(status: status)
        endpointRequests?.request(status: status)
        let elapsed = ContinuousClock.now - started
        let breakdown = usage.flatMap { usage in target.map { $0.deployment.costBreakdown(of: usage) } }
        let cost = breakdown?.total ?? 0
        trace?.finish(usage: usage, cost: cost, status: status)
        let key = principal?.key
        series.served(provider: target?.deployment.provider.rawValue ?? (hit == nil ? "none" : "cache"),
            status: status, duration: elapsed, promptTokens: usage?.promptTokens ?? 0,
            completionTokens: usage?.completionTokens ?? 0, cost: cost)
        realtime?.record(model: series.model, status: status, latency: elapsed, promptTokens: usage?.promptTokens ?? 0,
            completionTokens: usage?.completionTokens ?? 0, cost: cost, keyID: key?.id)
        let reserved = reservations.taken.withLock { $0 }
        if !reserved.isEmpty, let rateLimiting = accounting?.rateLimiting {
            let served = target?.deployment.id
            for (deployment, tickets) in reserved {
                rateLimiting.settle(tickets, tokens: deployment == served ? tokens : 0)
            }
        }
        guard let accounting, let admission else { return }
        accounting.record(SpendRecord(requestID: requestID, at: Date(), keyID: key?.id, keyAlias: key?.alias,
            teamID: key?.teamID, userID: key?.userID, modelRequested: model,
            modelServed: target?.deployment.name ?? hit?.model, provider: target?.deployment.provider.rawValue ?? hit?.provider,
            promptTokens: usage?.promptTokens ?? 0,
            completionTokens: usage?.completionTokens ?? 0, cachedTokens: usage?.cachedTokens ?? 0,
            cost: admission.costTracking ? cost : 0,
            latencyMilliseconds: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
            status: status, stream: stream, endpoint: endpoint, cacheWriteTokens: usage?.cacheWrites ?? 0,
            reasoningTokens: usage?.reasoningTokens ?? 0,
            costParts: admission.costTracking ? breakdown.map(SpendRecord.CostParts.init) : nil,
            deploymentID: target?.deployment.id ?? hit?.deploymentID, cacheHit: hit != nil,
            savedCost: admission.costTracking ? hit?.cost ?? 0 : 0), admission: admission)
    }
}
