import Prometheus
import ScutumRedis

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

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        redisDegraded(false)
        registry.makeGauge(descriptor: Self.leader).set(to: 0.0)
    }

    /// A finished proxied request, by the model asked for and the status the client got.
    func request(model: String, status: Int) {
        registry.makeCounter(descriptor: Self.requests, labels: [("model", model), ("status", String(status))]).increment()
    }

    /// A request refused by a rate limit: `key_rpm`, `key_tpm`, `global_rpm`, `parallel` or `deployment`.
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
        registry.makeDurationHistogram(descriptor: Self.latencies, labels: [("deployment", deployment)],
            buckets: Self.latencyBuckets).record(duration)
    }

    /// This node became leader (with its fencing token) or stopped being it.
    public func leadership(isLeader: Bool) {
        registry.makeGauge(descriptor: Self.leader).set(to: isLeader ? 1.0 : 0.0)
        registry.makeCounter(descriptor: Self.leadershipChanges, labels: [("to", isLeader ? "leader" : "follower")])
            .increment()
    }

    /// The text exposition format.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
