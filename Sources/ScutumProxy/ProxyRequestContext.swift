import Hummingbird

/// Who is calling: the master key or a key from the key store.
public enum Principal: Sendable, Equatable {
    case master
    case key(AuthenticatedKey)

    /// The SHA-256 of the key, for counters; nil for the master key.
    public var keyHash: String? {
        if case .key(let key) = self { return key.hash }
        return nil
    }
}

/// What the proxy knows about an authenticated key.
public struct AuthenticatedKey: Sendable, Equatable {
    public var id: String
    public var hash: String
    public var alias: String?
    public var role: String

    public init(id: String, hash: String, alias: String?, role: String) {
        self.id = id
        self.hash = hash
        self.alias = alias
        self.role = role
    }
}

/// The request context of the proxy: Hummingbird's core storage plus the authenticated caller.
public struct ProxyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthMiddleware`.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
    }
}
