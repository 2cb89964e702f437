import Foundation
import Logging
import ScutumCore

/// Turns an `Authorization: Bearer` header into a `Principal`: the master key by constant-time
/// comparison, other keys by SHA-256 through the `KeyCache`, asking the store only on a miss.
public struct Authenticator: Sendable {
    /// Finds a key by its hash in the durable store; nil when there is none.
    public typealias Lookup = @Sendable (_ hash: String) async throws -> KeyCache.CachedKey?

    let masterKey: String?
    let cache: KeyCache
    let lookup: Lookup
    let ttl: Duration
    let negativeTTL: Duration
    let timeout: Duration
    let logger: Logger

    public init(masterKey: String?, cache: KeyCache, ttl: Duration, negativeTTL: Duration, timeout: Duration,
        logger: Logger, lookup: @escaping Lookup)
    {
        self.masterKey = masterKey.flatMap { $0.isEmpty ? nil : $0 }
        self.cache = cache
        self.lookup = lookup
        self.ttl = ttl
        self.negativeTTL = negativeTTL
        self.timeout = timeout
        self.logger = logger
    }

    /// The caller behind an `Authorization` header value.
    public func authenticate(authorization: String?) async throws(GatewayError) -> Principal {
        guard let authorization, let token = Self.bearerToken(authorization) else { throw .missingAPIKey }
        if let masterKey, APIKey.constantTimeEquals(token, masterKey) { return .master }
        let hash = APIKey.hash(token)
        let now = ContinuousClock.now
        let cached: KeyCache.CachedKey?
        if let answer = cache.lookup(hash, now: now) {
            cached = answer
        } else {
            cached = try await fetch(hash)
            cache.store(hash, key: cached, until: now + (cached == nil ? negativeTTL : ttl))
        }
        guard let cached else { throw .invalidAPIKey() }
        if cached.blocked { throw .invalidAPIKey("This API key has been revoked.") }
        if let expiresAt = cached.expiresAt, expiresAt <= Date().timeIntervalSince1970 {
            throw .invalidAPIKey("This API key has expired.")
        }
        return .key(cached.key)
    }

    private func fetch(_ hash: String) async throws(GatewayError) -> KeyCache.CachedKey? {
        do {
            return try await withDeadline(timeout) { try await lookup(hash) }
        } catch {
            logger.error("key lookup failed", metadata: ["error": "\(error)"])
            throw GatewayError(status: 503,
                message: "The gateway cannot verify API keys right now (key store unavailable). Retry shortly.",
                type: "service_unavailable", code: "key_store_unavailable", headers: ["Retry-After": "1"])
        }
    }

    /// The token of `Bearer <token>` (scheme case-insensitive), nil for anything else.
    static func bearerToken(_ header: String) -> String? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = trimmed.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

/// Thrown by `withDeadline` when the work does not finish in time.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public var description: String { "deadline exceeded" }
}

/// Runs `work`, cancelling it and throwing `DeadlineExceeded` after `timeout`.
public func withDeadline<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> T)
    async throws -> T
{
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
