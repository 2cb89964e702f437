import Hummingbird
import ScutumCore
import ScutumStore

/// Who is calling: the master key or a key from the key store.
public enum Principal: Sendable, Equatable {
    case master
    case key(AuthenticatedKey)

    /// The SHA-256 of the key, for counters; nil for the master key.
    public var keyHash: String? {
        if case .key(let key) = self { return key.hash }
        return nil
    }

    /// The key, unless this is the master key.
    public var key: AuthenticatedKey? {
        if case .key(let key) = self { return key }
        return nil
    }
}

/// What the proxy knows about an authenticated key.
public struct AuthenticatedKey: Sendable, Equatable {
    public var id: String
    public var hash: String
    public var alias: String?
    public var role: KeyRole
    public var teamID: String?
    public var userID: String?
    /// Models the key may call; empty means any.
    public var models: [String]
    /// Per-key limits; nil takes the settings' defaults (RPM, TPM) or means none (parallel).
    public var rpmLimit: Int?
    public var tpmLimit: Int?
    public var maxParallelRequests: Int?
    /// The key's metadata object, for conditional routing.
    public var metadata: [String: JSONValue]
    /// Which guardrail profiles apply: its team's (or the default), none, or those plus its own.
    public var guardrails: KeyGuardrails

    public init(id: String, hash: String, alias: String?, role: KeyRole, teamID: String? = nil, userID: String? = nil,
        models: [String] = [], rpmLimit: Int? = nil, tpmLimit: Int? = nil, maxParallelRequests: Int? = nil,
        metadata: [String: JSONValue] = [:], guardrails: KeyGuardrails = .inherit)
    {
        self.metadata = metadata
        self.guardrails = guardrails
        self.rpmLimit = rpmLimit
        self.tpmLimit = tpmLimit
        self.maxParallelRequests = maxParallelRequests
        self.id = id
        self.hash = hash
        self.alias = alias
        self.role = role
        self.teamID = teamID
        self.userID = userID
        self.models = models
    }
}

/// The request context of the proxy: Hummingbird's core storage plus the authenticated caller.
public struct ProxyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthMiddleware`.
    public var principal: Principal?
    /// Set by `RequestIDMiddleware`: this request's own unique id (never the caller's `x-request-id`).
    public var requestID: String?
    /// When the first middleware saw the request, so `x-scutum-overhead-ms` counts the server's own time too.
    public var arrived: ContinuousClock.Instant?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
        self.requestID = nil
    }
}
