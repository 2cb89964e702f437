/// Which limit a unit counts against: its scope (the gateway, one key, one deployment) and its unit.
public struct LimitID: Hashable, Sendable, CustomStringConvertible {
    public enum Scope: Hashable, Sendable {
        /// Every request through the gateway (`global_rate_limit`).
        case global
        /// One virtual key, by id.
        case key(String)
        /// One catalog deployment's provider limit, by model name.
        case deployment(String)
    }

    public enum Unit: String, Hashable, Sendable {
        /// Requests per window (RPM).
        case requests = "rpm"
        /// Tokens per window (TPM), estimated before the call and settled after it.
        case tokens = "tpm"
    }

    public var scope: Scope
    public var unit: Unit

    public init(_ scope: Scope, _ unit: Unit) {
        self.scope = scope
        self.unit = unit
    }

    /// `global:rpm`, `key:<id>:tpm`, `model:<name>:rpm`: the name in Redis keys and logs.
    public var description: String {
        switch scope {
        case .global: "global:\(unit.rawValue)"
        case .key(let id): "key:\(id):\(unit.rawValue)"
        case .deployment(let name): "model:\(name):\(unit.rawValue)"
        }
    }
}

/// One limit to check for a request: at most `limit` units (requests or tokens) in any `window`.
public struct RateLimit: Sendable, Equatable {
    public var id: LimitID
    public var limit: Int
    /// Units this request takes: 1 for requests, the token estimate for tokens.
    public var cost: Int
    public var window: Duration

    public init(_ id: LimitID, limit: Int, cost: Int = 1, window: Duration = .seconds(60)) {
        self.id = id
        self.limit = limit
        self.cost = cost
        self.window = window
    }

    /// The limit's name in Redis keys and messages.
    public var name: String { id.description }
}

/// The answer for one limit.
public struct RateLimitOutcome: Sendable, Equatable {
    public init(limit: RateLimit, allowed: Bool, used: Int, retryAfterMilliseconds: Int) {
        self.limit = limit
        self.allowed = allowed
        self.used = used
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    public var limit: RateLimit
    public var allowed: Bool
    /// Units in the window after this request (or before it, when refused).
    public var used: Int
    /// When a refused request could fit (milliseconds).
    public var retryAfterMilliseconds: Int

    public var remaining: Int { max(0, limit.limit - used) }
}

extension Duration {
    /// Whole milliseconds.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
