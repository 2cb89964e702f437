import Foundation
import Logging
import ScutumCore

/// Turns an `Authorization: Bearer` header into a `Principal`: the master key by constant-time
/// comparison; tokens that cannot be keys (`APIKey.isWellFormed`) refused without a look-up; other
/// keys by SHA-256 through the `KeyCache`, asking the store only on a miss or once a cached answer
/// has outlived `ttl`. A cached key is still served while the store cannot answer.
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

    /// - Parameters:
    ///   - ttl: how long a known key is used before the store is asked again.
    ///   - negativeTTL: how long "no such key" is remembered.
    ///   - timeout: how long a look-up may take before the store counts as unavailable.
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
        try await authenticate(token: authorization.flatMap(Self.bearerToken))
    }

    /// The caller behind a key (nil: none was given).
    public func authenticate(token: String?) async throws(GatewayError) -> Principal {
        guard let token else { throw .missingAPIKey }
        if let masterKey, APIKey.constantTimeEquals(token, masterKey) { return .master }
        guard APIKey.isWellFormed(token) else { throw .invalidAPIKey() }
        guard let cached = try await resolve(APIKey.hash(token)) else { throw .invalidAPIKey() }
        if cached.blocked { throw .invalidAPIKey("This API key has been revoked.") }
        if let expiresAt = cached.expiresAt, expiresAt <= Date().timeIntervalSince1970 {
            throw .invalidAPIKey("This API key has expired.")
        }
        return .key(cached.key)
    }

    /// The caller behind `token` when that needs no look-up: the master key, or a usable key the cache
    /// holds; nil for anything else (a miss, a stale entry to refresh, a refusal), which `authenticate`
    /// decides.
    public func principalNow(token: String?) -> Principal? {
        guard let token else { return nil }
        if let masterKey, APIKey.constantTimeEquals(token, masterKey) { return .master }
        guard APIKey.isWellFormed(token) else { return nil }
        let cached: KeyCache.CachedKey
        switch cache.lookup(APIKey.hash(token), now: .now) {
        case .fresh(let key?): cached = key
        case .stale(let key, askStore: false): cached = key
        default: return nil
        }
        if cached.blocked { return nil }
        if let expiresAt = cached.expiresAt, expiresAt <= Date().timeIntervalSince1970 { return nil }
        return .key(cached.key)
    }

    /// The key behind `hash`: from the cache, else from the store (then cached), else, when the store
    /// cannot answer, the stale cached key if there is one.
    private func resolve(_ hash: String) async throws(GatewayError) -> KeyCache.CachedKey? {
        let stale: KeyCache.CachedKey?
        switch cache.lookup(hash, now: .now) {
        case .fresh(let key): return key
        case .stale(let key, askStore: false): return key
        case .stale(let key, askStore: true): stale = key
        case .missing: stale = nil
        }
        let ticket = cache.ticket(for: hash)
        switch await fetch(hash) {
        case .success(let key):
            cache.store(key: key, ticket: ticket, freshUntil: .now + (key == nil ? negativeTTL : ttl))
            return key
        case .failure(let error):
            cache.release(ticket)
            // Stale keys are served without waiting on the store for a moment; unknown ones keep asking.
            cache.storeFailed(until: .now + min(ttl, Self.storeRetryInterval))
            if let stale { return stale }
            throw error
        }
    }

    /// After a failed look-up, how long stale keys are served before the store is tried again.
    static let storeRetryInterval: Duration = .seconds(1)

    private func fetch(_ hash: String) async -> Result<KeyCache.CachedKey?, GatewayError> {
        do {
            return .success(try await withDeadline(timeout) { try await lookup(hash) })
        } catch {
            logger.error("key lookup failed", metadata: ["error": "\(error)"])
            return .failure(GatewayError(status: 503,
                message: "The gateway cannot verify API keys right now (key store unavailable). Retry shortly.",
                type: "service_unavailable", code: "key_store_unavailable", headers: ["Retry-After": "1"]))
        }
    }

    /// The token of `Bearer <token>` (scheme case-insensitive, spaces and tabs around it ignored),
    /// nil for anything else. Read byte by byte: it runs on every request.
    static func bearerToken(_ header: String) -> String? {
        let bytes = header.utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        while start < end, isBlank(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isBlank(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        var index = start
        for expected in "bearer".utf8 {
            guard index < end, bytes[index] | 0x20 == expected else { return nil }
            index = bytes.index(after: index)
        }
        guard index < end, isBlank(bytes[index]) else { return nil }
        while index < end, isBlank(bytes[index]) { index = bytes.index(after: index) }
        guard index < end else { return nil }
        return String(header[index..<end])
    }
}
