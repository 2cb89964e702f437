/// What the gateway does when a call to a deployment fails: per class of error, whether to try the
/// same deployment again, another deployment of the same model, the model's fallback chain, or to
/// give the client the error. One default for the catalog and optional ones per model name.
///
/// The defaults are the gateway's behaviour before policies existed: one more attempt on the same
/// deployment for timeouts, dropped connections and 5xx, after 100 ms (doubling, ±50% jitter), then
/// the next deployment; a provider's 429, 401, 403 or 404 go straight to the next deployment; a prompt
/// too long for the context window goes to a model with a larger one; the client's own mistakes
/// (400, content policy) end the request.
public struct RetryPolicy: Sendable, Hashable {
    /// The classes of failure a policy decides on.
    public enum ErrorClass: String, Sendable, CaseIterable, Hashable {
        /// The provider answered 429.
        case rateLimit = "rate_limit"
        /// No response head within the attempt's timeout, or the stream stalled.
        case timeout
        /// The connection failed or dropped.
        case connection
        /// The provider's answer could not be understood.
        case malformed
        /// The provider answered 5xx.
        case serverError = "server_error"
        /// The prompt does not fit the model's context window.
        case contextWindow = "context_window"
        /// The provider refused the content (its safety or content policy).
        case contentPolicy = "content_policy"
        /// The provider rejected the gateway's credentials (401, 403).
        case authentication
        /// The provider does not know the model or route (404).
        case notFound = "not_found"
        /// Any other 4xx: the client's request is wrong.
        case badRequest = "bad_request"
    }

    /// What to do after a failure of one class.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// Try the same deployment again (up to `retries` more times, with backoff), then move on as
        /// `nextDeployment` does.
        case retry
        /// Try the model's next deployment, then its fallback chain.
        case nextDeployment = "next_deployment"
        /// Skip the rest of this model's deployments: go to the next model of the fallback chain
        /// (for `context_window`, only to models with a larger window).
        case fallback
        /// Give the client this error now.
        case fail
    }

    /// More attempts on the same deployment for errors whose action is `retry`.
    public var retries: Int
    /// The pause before the first retry; each further retry doubles it, all with ±50% jitter.
    public var backoff: Duration
    /// Longest wait for one attempt's response head (nil: the gateway's upstream timeout).
    public var attemptTimeout: Duration?
    /// The action per error class; classes not listed take the default's.
    public var actions: [ErrorClass: Action]

    public static let defaultActions: [ErrorClass: Action] = [
        .rateLimit: .nextDeployment, .timeout: .retry, .connection: .retry, .malformed: .nextDeployment,
        .serverError: .retry,
        .contextWindow: .fallback, .contentPolicy: .fail, .authentication: .nextDeployment,
        .notFound: .nextDeployment, .badRequest: .fail,
    ]

    /// Today's behaviour (see the type's description).
    public static let standard = RetryPolicy(retries: 1, backoff: .milliseconds(100), attemptTimeout: nil,
        actions: defaultActions)

    public init(retries: Int, backoff: Duration, attemptTimeout: Duration?, actions: [ErrorClass: Action]) {
        self.retries = max(0, retries)
        self.backoff = backoff
        self.attemptTimeout = attemptTimeout
        self.actions = Self.defaultActions.merging(actions) { _, chosen in chosen }
    }

    /// The action for `errorClass`.
    public func action(for errorClass: ErrorClass) -> Action { actions[errorClass] ?? .fail }

    /// The pause before retry number `attempt` (1-based), with ±50% jitter so nodes do not retry in step.
    public func pause(beforeRetry attempt: Int, jitter: Double = Double.random(in: 0.5...1.5)) -> Duration {
        let doubling = 1 << min(max(0, attempt - 1), 20)
        return backoff * doubling * jitter
    }
}

/// The retry policy entry of the catalog file (`retry_policy:` and each of `retry_policies:`).
public struct RetryPolicyEntry: Decodable, Sendable {
    public var retries: Int?
    public var backoff_ms: Int?
    public var timeout_seconds: Double?
    /// Error class (`rate_limit`, `timeout`, ...) to action (`retry`, `next_deployment`, `fallback`, `fail`).
    public var on: [String: String]?

    public init(retries: Int? = nil, backoff_ms: Int? = nil, timeout_seconds: Double? = nil, on: [String: String]? = nil) {
        self.retries = retries
        self.backoff_ms = backoff_ms
        self.timeout_seconds = timeout_seconds
        self.on = on
    }

    /// The policy, unset fields taken from `base`; throws naming an unknown class, action or a
    /// negative number.
    public func policy(over base: RetryPolicy, context: String) throws(CatalogFile.Invalid) -> RetryPolicy {
        if let retries, retries < 0 || retries > 10 {
            throw CatalogFile.Invalid(description: "\(context): retries must be between 0 and 10")
        }
        if let backoff_ms, backoff_ms < 0 || backoff_ms > 60_000 {
            throw CatalogFile.Invalid(description: "\(context): backoff_ms must be between 0 and 60000")
        }
        if let timeout_seconds, !(timeout_seconds > 0 && timeout_seconds <= 3_600) {
            throw CatalogFile.Invalid(description: "\(context): timeout_seconds must be above 0 and at most 3600")
        }
        var actions = base.actions
        for (name, value) in on ?? [:] {
            guard let errorClass = RetryPolicy.ErrorClass(rawValue: name) else {
                let known = RetryPolicy.ErrorClass.allCases.map(\.rawValue).joined(separator: ", ")
                throw CatalogFile.Invalid(description: "\(context): unknown error class '\(name)' (known: \(known))")
            }
            guard let action = RetryPolicy.Action(rawValue: value) else {
                let known = RetryPolicy.Action.allCases.map(\.rawValue).joined(separator: ", ")
                throw CatalogFile.Invalid(description: "\(context): unknown action '\(value)' for \(name) (known: \(known))")
            }
            actions[errorClass] = action
        }
        return RetryPolicy(retries: retries ?? base.retries,
            backoff: backoff_ms.map { .milliseconds($0) } ?? base.backoff,
            attemptTimeout: timeout_seconds.map { .milliseconds(Int64(($0 * 1000).rounded())) } ?? base.attemptTimeout,
            actions: actions)
    }
}
