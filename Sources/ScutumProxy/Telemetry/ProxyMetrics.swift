import Prometheus
import ScutumCluster
import ScutumCore
import ScutumRedis
import Synchronization

/// The proxy's Prometheus metrics, served at `GET /metrics` on the proxy port.
///
/// One registry per node (not the process-global `MetricsSystem`), so each node in a test
/// process reports only its own figures.
public final class ProxyMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    // Computed: the library's descriptor type is not `Sendable`, so it cannot be a stored static.
    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "requests", unitName: "total",
            helpText: "Proxied requests by requested model and response status")
    }
    static var endpointRequests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "endpoint_requests", unitName: "total",
            helpText: "Proxied requests by front door (the request path, or workflow) and response status")
    }
    static var rateLimited: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "rate_limited", unitName: "total",
            helpText: "Requests refused (or deployments passed over) by a rate limit")
    }
    static var fallbacks: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "fallbacks", unitName: "total",
            helpText: "Requests served by a later deployment of their chain")
    }
    static var failures: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "provider_failures", unitName: "total",
            helpText: "Failed provider calls by deployment and error")
    }
    static var breakers: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "circuit_breaker", unitName: "state",
            helpText: "Circuit breaker per deployment as this node last saw it: 0 closed, 1 half-open, 2 open")
    }
    static var cacheRequests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "cache_requests", unitName: "total",
            helpText: "Requests the response cache applied to, by result: hit, miss or bypass")
    }
    static var cacheStoredBytes: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "cache_stored_bytes", unitName: "total",
            helpText: "Bytes of answers this node stored in the response cache")
    }
    static var cacheSaved: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "cache_saved_usd", unitName: "total",
            helpText: "What answers served from the response cache cost when they were bought (USD)")
    }
    static var redis: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "redis", unitName: "degraded",
            helpText: "1 while Redis is unreachable and rate limits fall back to per-node shares")
    }
    static var leader: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "cluster_leader", unitName: "state",
            helpText: "1 while this node is the cluster leader")
    }
    static var leadershipChanges: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "leadership_changes", unitName: "total",
            helpText: "Times this node became leader or stopped being it")
    }
    static var latencies: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "deployment_latency", unitName: "seconds",
            helpText: "Time for a deployment to answer (first byte for streams)")
    }
    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    static var durations: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "request_duration", unitName: "seconds",
            helpText: "Whole proxied request, by requested model, serving provider and status")
    }
    static var overhead: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "gateway_overhead", unitName: "seconds",
            helpText: "Time the gateway itself spent on a request (everything but waiting for providers)")
    }
    static let overheadBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100),
    ]
    static var tokens: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "tokens", unitName: "total",
            helpText: "Tokens of served requests, by model and type (prompt, completion)")
    }
    static var spend: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "spend_usd", unitName: "total",
            helpText: "Cost of served requests in USD, by model")
    }
    static var queues: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "queue", unitName: "depth",
            helpText: "Records waiting to be written: spend, guardrail_events, realtime")
    }
    static var spendDeadLetters: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "spend_dead_letters", unitName: "total",
            helpText: "Spend records PostgreSQL refused for their data, moved to spend_dead_letters")
    }
    static var spendDeadLetterFailures: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "spend_dead_letter_failures", unitName: "total",
            helpText: "Refused spend records that could not be kept as dead letters either (logged only)")
    }
    static var spendDropped: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "spend_records_dropped", unitName: "total",
            helpText: "Spend records dropped: the buffer was full while neither Redis nor PostgreSQL took them")
    }
    static var spendDirect: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "spend_direct_writes", unitName: "total",
            helpText: "Spend records written straight to PostgreSQL because Redis stayed unreachable")
    }
    static var awaitingHead: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "upstream_awaiting", unitName: "head",
            helpText: "Provider requests without a response head yet (answering, or waiting for a connection)")
    }
    static var redisNodes: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "redis_node", unitName: "up",
            helpText: "1 when the last readiness check reached the Redis node (every master of a Redis Cluster)")
    }
    static var backends: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "backend", unitName: "up",
            helpText: "1 when the last readiness check reached the backend (postgres, redis)")
    }

    /// Each deployment's latency histogram: making one is a registry lookup under a lock plus label
    /// formatting, too slow to repeat on every request.
    private let latencies = Mutex<[String: DurationHistogram]>([:])
    private let queueSources = Mutex<[(name: String, depth: @Sendable () -> Int)]>([])

    static var directLane: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scutum", metricName: "direct_lane", unitName: "total",
            helpText: "Chat completions the direct lane took, by outcome: served, continued (its first provider call "
                + "failed and the pipeline went on), refused (admission said no), routed (left to the router)")
    }

    /// The direct lane's outcomes (`DirectLane`).
    enum LaneOutcome: Int, CaseIterable {
        case served, continued, refused, routed
    }

    private let laneCounters: [Counter]

    /// Counts one request the direct lane looked at.
    func lane(_ outcome: LaneOutcome) {
        laneCounters[outcome.rawValue].increment()
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        overheadHistogram = registry.makeDurationHistogram(descriptor: Self.overhead, buckets: Self.overheadBuckets)
        laneCounters = LaneOutcome.allCases.map {
            registry.makeCounter(descriptor: Self.directLane, labels: [("outcome", "\($0)")])
        }
        endpoints = Dictionary(uniqueKeysWithValues: FrontDoor.all.map { endpoint in
            (endpoint, RequestCounters(registry: registry, descriptor: { ProxyMetrics.endpointRequests },
                labels: [("endpoint", endpoint)]))
        })
        redisDegraded(false)
        registry.makeGauge(descriptor: Self.leader).set(to: 0.0)
    }

    /// One counter per response status under fixed labels, each made on the status's first request
    /// and then found in a small map.
    final class RequestCounters: Sendable {
        let registry: PrometheusCollectorRegistry
        /// A closure because the descriptor type is not `Sendable`.
        let descriptor: @Sendable () -> MetricNameDescriptor
        let labels: [(String, String)]
        private let counters = Mutex<[Int: Counter]>([:])

        init(registry: PrometheusCollectorRegistry, descriptor: @escaping @Sendable () -> MetricNameDescriptor,
            labels: [(String, String)])
        {
            self.registry = registry
            self.descriptor = descriptor
            self.labels = labels
        }

        /// A finished request and the status the client got.
        func request(status: Int) {
            counters.withLock { counters in
                if let counter = counters[status] { return counter }
                let counter = registry.makeCounter(descriptor: descriptor(), labels: labels + [("status", String(status))])
                counters[status] = counter
                return counter
            }.increment()
        }
    }

    /// Each front door's request counters (`FrontDoor.all`), made once.
    private let endpoints: [String: RequestCounters]

    /// The request counters of a front door (nil for none, or a name `FrontDoor` does not list).
    func endpoint(_ name: String?) -> RequestCounters? {
        name.flatMap { endpoints[$0] }
    }

    /// A model's per-request series, resolved once (`series(for:)`) and then used without building
    /// label strings or looking anything up, but for the status-keyed series (a small map).
    final class ModelSeries: Sendable {
        let model: String
        let registry: PrometheusCollectorRegistry
        let promptTokens: Counter
        let completionTokens: Counter
        let spend: Counter
        private let requests: RequestCounters
        private let durations = Mutex<[DurationSeries: DurationHistogram]>([:])

        struct DurationSeries: Hashable {
            var provider: String
            var status: Int
        }

        init(model: String, registry: PrometheusCollectorRegistry) {
            self.model = model
            self.registry = registry
            promptTokens = registry.makeCounter(descriptor: ProxyMetrics.tokens, labels: [("model", model), ("type", "prompt")])
            completionTokens = registry.makeCounter(descriptor: ProxyMetrics.tokens,
                labels: [("model", model), ("type", "completion")])
            spend = registry.makeCounter(descriptor: ProxyMetrics.spend, labels: [("model", model)])
            requests = RequestCounters(registry: registry, descriptor: { ProxyMetrics.requests },
                labels: [("model", model)])
        }

        /// A finished proxied request and the status the client got.
        func request(status: Int) {
            requests.request(status: status)
        }

        /// A finished request's duration, tokens and cost.
        func served(provider: String, status: Int, duration: Duration, promptTokens: Int, completionTokens: Int,
            cost: Double)
        {
            let registry = self.registry
            let model = self.model
            durations.withLock { histograms in
                let series = DurationSeries(provider: provider, status: status)
                if let histogram = histograms[series] { return histogram }
                let histogram = registry.makeDurationHistogram(descriptor: ProxyMetrics.durations,
                    labels: [("model", model), ("provider", provider), ("status", String(status))],
                    buckets: ProxyMetrics.latencyBuckets)
                histograms[series] = histogram
                return histogram
            }.record(duration)
            guard promptTokens + completionTokens > 0 else { return }
            self.promptTokens.increment(by: Int64(promptTokens))
            self.completionTokens.increment(by: Int64(completionTokens))
            if cost > 0 { spend.increment(by: cost) }
        }
    }

    /// Names outside the catalog share this label, so callers cannot grow the registry at will.
    static let unknownModel = "unknown"
    private let models = Mutex<[String: ModelSeries]>([:])

    /// The series of a model name the catalog knows (`known`), or of `unknown`.
    func series(for model: String, known: Bool) -> ModelSeries {
        let label = known ? model : Self.unknownModel
        let registry = self.registry
        return models.withLock { models in
            if let series = models[label] { return series }
            let series = ModelSeries(model: label, registry: registry)
            models[label] = series
            return series
        }
    }

    private let overheadHistogram: DurationHistogram

    /// The gateway's own time on a request.
    func overhead(_ duration: Duration) {
        overheadHistogram.record(duration)
    }

    private let upstreamSource = Mutex<(@Sendable () -> Int)?>(nil)

    /// A counter kept elsewhere (a plain number), brought to Prometheus when scraped.
    struct MirroredCounter {
        let counter: Counter
        let read: @Sendable () -> Int
        var reported = 0
    }
    private let mirrored = Mutex<[MirroredCounter]>([])

    /// Where `/metrics` reads spend records dead-lettered, dropped or written straight to PostgreSQL.
    public func watchSpend(_ counts: SpendCounts) {
        let counters = [
            MirroredCounter(counter: registry.makeCounter(descriptor: Self.spendDeadLetters)) { counts.deadLettered },
            MirroredCounter(counter: registry.makeCounter(descriptor: Self.spendDeadLetterFailures)) {
                counts.deadLetterFailures
            },
            MirroredCounter(counter: registry.makeCounter(descriptor: Self.spendDropped)) { counts.dropped },
            MirroredCounter(counter: registry.makeCounter(descriptor: Self.spendDirect)) { counts.writtenDirectly },
        ]
        mirrored.withLock { $0 += counters }
    }

    /// Where `/metrics` reads the provider requests still awaiting a response head.
    public func watchUpstream(_ awaiting: @escaping @Sendable () -> Int) {
        upstreamSource.withLock { $0 = awaiting }
    }

    /// A queue whose depth `/metrics` reports (read when scraped).
    public func watchQueue(_ name: String, depth: @escaping @Sendable () -> Int) {
        queueSources.withLock { $0.append((name, depth)) }
    }

    /// Whether the last readiness check reached a Redis node (`host:port`; each master of a cluster).
    public func redisNode(_ node: String, up: Bool) {
        registry.makeGauge(descriptor: Self.redisNodes, labels: [("node", node)]).set(to: up ? 1.0 : 0.0)
    }

    /// Whether the last readiness check reached a backend.
    func backend(_ name: String, up: Bool) {
        registry.makeGauge(descriptor: Self.backends, labels: [("backend", name)]).set(to: up ? 1.0 : 0.0)
    }

    /// A request refused by a rate limit: `key_rpm`, `key_tpm`, `global_rpm`, `parallel` or `deployment`.
    /// A request the response cache applied to: `hit`, `miss` or `bypass`.
    func cache(_ result: String) {
        registry.makeCounter(descriptor: Self.cacheRequests, labels: [("result", result)]).increment()
    }

    /// An answer stored in the response cache.
    func cacheStored(bytes: Int) {
        registry.makeCounter(descriptor: Self.cacheStoredBytes).increment(by: Int64(bytes))
    }

    /// A hit's saving.
    func cacheSaved(usd: Double) {
        registry.makeCounter(descriptor: Self.cacheSaved).increment(by: usd)
    }

    func rateLimited(_ limit: String) {
        registry.makeCounter(descriptor: Self.rateLimited, labels: [("limit", limit)]).increment()
    }

    /// A request served by a deployment other than the first one it was routed to.
    func fallback(from: String, to: String) {
        registry.makeCounter(descriptor: Self.fallbacks, labels: [("from", from), ("to", to)]).increment()
    }

    /// A failed provider call.
    func providerFailure(_ deployment: String, status: String) {
        registry.makeCounter(descriptor: Self.failures, labels: [("deployment", deployment), ("error", status)]).increment()
    }

    /// The breaker state this node last saw: 0 closed, 1 half-open (probing), 2 open.
    func breaker(_ deployment: String, _ admission: ProviderHealth.Admission) {
        let value: Double = switch admission {
        case .closed: 0
        case .probe: 1
        case .open: 2
        }
        registry.makeGauge(descriptor: Self.breakers, labels: [("deployment", deployment)]).set(to: value)
    }

    /// 1 while Redis cannot answer and rate limits are enforced per node.
    func redisDegraded(_ degraded: Bool) {
        registry.makeGauge(descriptor: Self.redis).set(to: degraded ? 1.0 : 0.0)
    }

    /// How long a deployment took to answer (first byte for streams).
    func latency(_ deployment: String, _ duration: Duration) {
        let registry = self.registry
        latencies.withLock { histograms in
            if let histogram = histograms[deployment] { return histogram }
            let histogram = registry.makeDurationHistogram(descriptor: Self.latencies,
                labels: [("deployment", deployment)], buckets: Self.latencyBuckets)
            histograms[deployment] = histogram
            return histogram
        }.record(duration)
    }

    /// This node became leader (with its fencing token) or stopped being it.
    public func leadership(isLeader: Bool) {
        registry.makeGauge(descriptor: Self.leader).set(to: isLeader ? 1.0 : 0.0)
        registry.makeCounter(descriptor: Self.leadershipChanges, labels: [("to", isLeader ? "leader" : "follower")])
            .increment()
    }

    /// The text exposition format.
    public func exposition() -> [UInt8] {
        if let awaiting = upstreamSource.withLock({ $0 }) {
            registry.makeGauge(descriptor: Self.awaitingHead).set(to: Double(awaiting()))
        }
        mirrored.withLock { counters in
            for index in counters.indices {
                let value = counters[index].read()
                if value > counters[index].reported {
                    counters[index].counter.increment(by: Int64(value - counters[index].reported))
                    counters[index].reported = value
                }
            }
        }
        for (name, depth) in queueSources.withLock({ $0 }) {
            registry.makeGauge(descriptor: Self.queues, labels: [("queue", name)]).set(to: Double(depth()))
        }
        return registry.emitToBuffer()
    }
}
