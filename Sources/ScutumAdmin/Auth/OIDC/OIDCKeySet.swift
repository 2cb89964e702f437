import Foundation

/// The provider's JWKS, cached, and refetched when a token names a `kid` the cache does not hold,
/// which is how a key rotation is followed, and once the cache is older than `maximumAge`, which is
/// how a key the provider withdrew (a compromised one) stops being trusted. Refetches a lookup causes
/// are rate-limited (at most one attempt per `minimumRefetchInterval`) so tokens with made-up kids
/// cannot make the gateway hammer the provider; concurrent lookups share one fetch.
public actor OIDCKeySet {
    /// Fetches the JWKS document's keys.
    public typealias Fetch = @Sendable () async throws(OIDCError) -> [JSONWebKey]

    private let fetch: Fetch
    private let now: @Sendable () -> Date
    /// The least time between two fetch attempts that a lookup (not `refresh(force: true)`) may cause.
    public let minimumRefetchInterval: TimeInterval
    /// How long fetched keys are used without asking the provider again. When that fetch fails the
    /// cached keys stay in use (the provider's token endpoint is then most likely down too).
    public let maximumAge: TimeInterval
    private var keys: [JSONWebKey] = []
    private var fetchedAt: Date?
    private var lastAttempt: Date?
    private var inFlight: Task<[JSONWebKey], any Error>?
    /// How many times the JWKS was fetched (for tests and metrics).
    public private(set) var fetchCount = 0

    /// A key set fed by `fetch`; nothing is fetched until the first lookup.
    public init(minimumRefetchInterval: TimeInterval = 30, maximumAge: TimeInterval = 3600,
        now: @escaping @Sendable () -> Date = { Date() }, fetch: @escaping Fetch)
    {
        self.fetch = fetch
        self.now = now
        self.minimumRefetchInterval = minimumRefetchInterval
        self.maximumAge = maximumAge
    }

    /// The keys that may verify a token with header `kid` and `alg`: the matching kid, or, for a token
    /// without `kid`, every key fitting the algorithm. An unknown kid triggers one refetch (if the last
    /// attempt is older than `minimumRefetchInterval`, or nothing was ever fetched).
    public func keys(kid: String?, algorithm: String) async throws(OIDCError) -> [JSONWebKey] {
        if fetchedAt == nil {
            try await refresh(force: lastAttempt == nil)
        } else if let fetchedAt, now().timeIntervalSince(fetchedAt) >= maximumAge {
            try? await refresh()
        }
        var found = matching(kid: kid)
        if found.isEmpty, mayRefetch {
            try await refresh(force: true)
            found = matching(kid: kid)
        }
        guard !found.isEmpty else { throw OIDCError.unknownKey(kid: kid) }
        let fitting = found.filter { $0.fits(algorithm: algorithm) }
        guard !fitting.isEmpty else { throw OIDCError.algorithmKeyMismatch(alg: algorithm, kid: kid) }
        return fitting
    }

    /// Fetches the JWKS now when `force` is set or the rate limit allows it; concurrent calls share one fetch.
    public func refresh(force: Bool = false) async throws(OIDCError) {
        if !force, !mayRefetch {
            if fetchedAt == nil {
                throw OIDCError.providerUnreachable(what: "jwks",
                    detail: "the last fetch failed; asked again \(Int(minimumRefetchInterval)) s after it")
            }
            return
        }
        let task: Task<[JSONWebKey], any Error>
        if let inFlight {
            task = inFlight
        } else {
            let fetch = self.fetch
            task = Task { try await fetch() }
            inFlight = task
            fetchCount += 1
            // A failed fetch counts for the rate limit too, so an unreachable provider is not retried per token.
            lastAttempt = now()
        }
        do {
            let fresh = try await task.value
            if inFlight == task {
                keys = fresh
                fetchedAt = now()
                inFlight = nil
            }
        } catch {
            if inFlight == task { inFlight = nil }
            throw (error as? OIDCError) ?? OIDCError.providerUnreachable(what: "jwks", detail: "\(error)")
        }
    }

    /// Whether a lookup may cause a fetch now.
    private var mayRefetch: Bool {
        guard let lastAttempt else { return true }
        return now().timeIntervalSince(lastAttempt) >= minimumRefetchInterval
    }

    /// The cached kids (for tests).
    public var cachedKeyIDs: [String?] { keys.map(\.keyID) }

    private func matching(kid: String?) -> [JSONWebKey] {
        guard let kid else { return keys }
        return keys.filter { $0.keyID == kid }
    }
}
