/// Settings of the port-4000 proxy application.
public struct ProxyConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The master key (`SCUTUM_API_KEY`); nil disables master-key access.
    public var masterKey: String?
    /// Largest request body accepted, in bytes (413 above it).
    public var maximumBodyBytes: Int
    /// How long a key found in PostgreSQL is used before it is looked up again (changes invalidate it
    /// sooner, via NOTIFY; `SCUTUM_KEY_CACHE_SECONDS`); past it the key is still served while PostgreSQL
    /// cannot answer.
    public var keyCacheTTL: Duration
    /// How long an unknown key is remembered as unknown.
    public var negativeKeyCacheTTL: Duration
    /// Bound on a key lookup or readiness check against a backing service.
    public var backendTimeout: Duration
    /// A server span per request (W3C `traceparent` continued) and a client span per provider call,
    /// for the bootstrapped tracer.
    public var tracing: Bool
    /// When a client leaves a stream (or a guardrail stops it), the provider is still generating and
    /// billing: the upstream is read this long more for its usage (`SCUTUM_ABANDONED_STREAM_DRAIN_SECONDS`);
    /// past it, or at zero, the request is charged an estimate.
    public var abandonedStreamDrain: Duration
    /// Non-streaming chat completions to OpenAI-compatible `http://` deployments take the direct lane
    /// (`SCUTUM_DIRECT_LANE`, on by default): served on the event loop that read them, with the same
    /// admission, routing and settlement (see `DirectLane`).
    public var directLane = true
    /// Largest provider answer read into memory (the direct lane's; `UpstreamHTTP` has its own).
    public var maximumResponseBytes = 256 * 1024 * 1024
    /// How long a stored Responses API response is kept (`SCUTUM_RESPONSES_RETENTION_DAYS`, default 30).
    public var responseRetention: Duration = .seconds(30 * 86_400)

    public init(host: String = "0.0.0.0", port: Int = 4000, masterKey: String?,
        maximumBodyBytes: Int = 32 * 1024 * 1024, keyCacheTTL: Duration = .seconds(300),
        negativeKeyCacheTTL: Duration = .seconds(5), backendTimeout: Duration = .seconds(2),
        tracing: Bool = false, abandonedStreamDrain: Duration = .seconds(60))
    {
        self.abandonedStreamDrain = abandonedStreamDrain
        self.tracing = tracing
        self.host = host
        self.port = port
        self.masterKey = masterKey
        self.maximumBodyBytes = maximumBodyBytes
        self.keyCacheTTL = keyCacheTTL
        self.negativeKeyCacheTTL = negativeKeyCacheTTL
        self.backendTimeout = backendTimeout
    }
}
