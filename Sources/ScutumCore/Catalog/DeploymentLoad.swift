/// What a node has seen of one deployment lately; the load-aware routing strategies order by it.
public struct DeploymentLoad: Sendable, Equatable {
    /// Calls to it in progress on this node (streams count until they end).
    public var inFlight: Int
    /// Smoothed time to answer (first byte for streams), in seconds; nil until a call succeeded.
    public var latencySeconds: Double?
    /// Requests and tokens it served in the last 60 seconds.
    public var requestsLastMinute: Int
    public var tokensLastMinute: Int

    public init(inFlight: Int = 0, latencySeconds: Double? = nil, requestsLastMinute: Int = 0, tokensLastMinute: Int = 0) {
        self.inFlight = inFlight
        self.latencySeconds = latencySeconds
        self.requestsLastMinute = requestsLastMinute
        self.tokensLastMinute = tokensLastMinute
    }

    /// Nothing seen yet.
    public static let idle = DeploymentLoad()
}
